package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestAssembleThenVerify(t *testing.T) {
	shared, _ := filepath.Abs("../../../shared/models")
	dir := filepath.Join(t.TempDir(), "models")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"assemble", "-shared", shared, "-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("assemble exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"verify", "-dir", dir}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"workplace"`) {
		t.Fatalf("verify exit %d: %s %s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"verify", "-dir", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "missing") {
		t.Fatalf("empty dir: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}
