package iso7816

import (
	"bytes"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"00A4040C", "00B0000000", "00B0000000000000", "00A4020C02011E", "0088000002010200", "00880000000002010201"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		// What parses must re-encode to the same bytes (short or extended as it came).
		var out []byte
		if len(b) > 5 && b[4] == 0 || len(b) == 7 && b[4] == 0 {
			out, err = c.BytesExtended()
		} else {
			out, err = c.encode(false)
		}
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encode %X -> %X, %v", b, out, err)
		}
	})
}

func FuzzParseATR(f *testing.F) {
	f.Add(h("3B858001807380214000"))
	f.Add(h("3BFF1300008131FE4580310000"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseATR(b) })
}
