package labels

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSlices(t *testing.T) {
	s, err := ParseSlices("# comment\nasian: A B\n\nwest: C # trailing\n")
	if err != nil || len(s) != 2 || !s[0].Identities["B"] || !s[1].Identities["C"] {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"noname", ": A", "x:"} {
		if _, err := ParseSlices(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestLoadRealFolders(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..", "shared", "testdata", "faces")
	lfw, err := Load(filepath.Join(root, "lfw"))
	if err != nil || len(lfw) != 790 {
		t.Fatalf("lfw: %d samples, %v", len(lfw), err)
	}
	df, err := Load(filepath.Join(root, "deepface"))
	if err != nil || len(df) < 50 {
		t.Fatalf("deepface clusters: %d %v", len(df), err)
	}
	for _, s := range df {
		if s.Identity == "" || !strings.HasPrefix(s.Path, filepath.Join(root, "deepface")) {
			t.Fatalf("sample %+v", s)
		}
	}
}

func TestClustersRefuseEscapes(t *testing.T) {
	for _, bad := range []string{"id: ../etc/passwd\n", "id: a/b.jpg\n", "no colon here\n", ""} {
		if _, err := parseClusters(".", bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseSlices(f *testing.F) {
	f.Add("asian: Hu_Jintao Tang_Jiaxuan\n# c\nwest: A\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSlices(text)
		if err != nil {
			return
		}
		for _, sl := range s {
			if sl.Name == "" || len(sl.Identities) == 0 {
				t.Fatalf("empty slice accepted: %+v", sl)
			}
		}
	})
}

func FuzzParseClusters(f *testing.F) {
	f.Add("# header\nid00: img1.jpg img2.jpg\nid01: img3.jpg\n")
	f.Fuzz(func(t *testing.T, text string) {
		ss, err := parseClusters("/data", text)
		if err != nil {
			return
		}
		for _, s := range ss {
			if filepath.Dir(s.Path) != "/data" || s.Identity == "" {
				t.Fatalf("sample escapes the folder or has no identity: %+v", s)
			}
		}
	})
}
