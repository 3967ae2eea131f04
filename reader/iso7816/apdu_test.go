package iso7816

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCommandCases(t *testing.T) {
	cases := []struct {
		c    Command
		want string
	}{
		{Command{INS: 0xA4, P1: 4, P2: 0x0C}, "00A4040C"},                                                                                  // case 1
		{Command{INS: 0xB0, Ne: 256}, "00B0000000"},                                                                                        // case 2S
		{Command{INS: 0xB0, Ne: 65536}, "00B00000000000"},                                                                                  // case 2E
		{Command{INS: 0xB0, Ne: 0x1234}, "00B00000001234"},                                                                                 // case 2E
		{Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: h("011E")}, "00A4020C02011E"},                                                           // case 3S
		{Command{INS: 0x88, Data: h("0102"), Ne: 256}, "0088000002010200"},                                                                 // case 4S
		{Command{INS: 0x88, Data: h("0102"), Ne: 257}, "00880000000002010201" + "01"},                                                      // case 4E
		{Command{INS: 0x88, Data: bytes.Repeat([]byte{1}, 300)}, "00880000" + "00012C" + hex.EncodeToString(bytes.Repeat([]byte{1}, 300))}, // 3E
	}
	for i, c := range cases {
		got, err := c.c.Bytes()
		if err != nil || hex.EncodeToString(got) != hex.EncodeToString(h(c.want)) {
			t.Errorf("case %d: %X, %v; want %s", i, got, err, c.want)
			continue
		}
		back, err := ParseCommand(got)
		if err != nil || back.INS != c.c.INS || back.Ne != c.c.Ne || !bytes.Equal(back.Data, c.c.Data) {
			t.Errorf("case %d: parse back %+v, %v", i, back, err)
		}
	}
	if _, err := (Command{Ne: 257}).encode(false); err == nil {
		t.Error("short encoding of Ne 257 accepted")
	}
	for _, bad := range []string{"00", "00A40C", "00A4040C0501", "00A4040C000003AA"} {
		if _, err := ParseCommand(h(bad)); err == nil {
			t.Errorf("ParseCommand(%s) accepted", bad)
		}
	}
}

func TestParseATR(t *testing.T) {
	// PC/SC part 3 contactless ATR layout: 3B 8n 80 01 <historical> TCK; historical bytes start with
	// category 80 and card capabilities 73 xx xx 40 (extended Lc/Le, ISO/IEC 7816-4 §12.1.1.9).
	info, err := ParseATR(h("3B8580018073802140" + "00"))
	if err != nil || !info.ExtendedLength || !bytes.Equal(info.Historical, h("8073802140")) {
		t.Fatalf("%+v %v", info, err)
	}
	info, err = ParseATR(h("3B8580018073802100" + "00"))
	if err != nil || info.ExtendedLength {
		t.Fatalf("%+v %v", info, err)
	}
	if _, err := ParseATR(h("3B8F8001")); err == nil {
		t.Fatal("truncated ATR accepted")
	}
}

func TestChannelGetResponseAndWrongLe(t *testing.T) {
	var sent []string
	card := TransmitFunc(func(_ context.Context, apdu []byte) ([]byte, error) {
		sent = append(sent, hex.EncodeToString(apdu))
		switch hex.EncodeToString(apdu) {
		case "00b0000000":
			return h("6c05"), nil
		case "00b0000005":
			return h("010203040561 02"[0:10] + "6102"), nil
		case "00c0000002":
			return h("06079000"), nil
		}
		return h("6d00"), nil
	})
	ch := &Channel{T: card}
	rsp, err := ch.Transmit(context.Background(), h("00B0000000"))
	if err != nil || !bytes.Equal(rsp, h("01020304050607 9000"[0:14]+"9000")) {
		t.Fatalf("%X %v (sent %v)", rsp, err, sent)
	}
	if ch.APDUs != 3 {
		t.Fatalf("APDUs = %d", ch.APDUs)
	}
	// A card answering 61xx forever is cut off.
	loop := TransmitFunc(func(context.Context, []byte) ([]byte, error) { return h("6101"), nil })
	if _, err := (&Channel{T: loop}).Transmit(context.Background(), h("00B0000000")); err == nil {
		t.Fatal("endless 61xx accepted")
	}
}
