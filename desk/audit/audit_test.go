package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"enrolldesk/desk/store/storetest"
)

func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), Entry{Actor: "sup1", Action: "login.ok", Subject: "sup1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendChainsAndVerifies(t *testing.T) {
	db := storetest.Open(t)
	l := New(db, func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) })
	appendN(t, l, 5)
	head, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 5 {
		t.Fatalf("head seq %d, want 5", head.Seq)
	}
	es, err := l.Since(context.Background(), 2, 10)
	if err != nil || len(es) != 3 || es[0].Seq != 3 {
		t.Fatalf("Since(2) = %d entries, first %+v, err %v", len(es), es, err)
	}
	if string(es[1].PrevHash) != string(es[0].Hash) {
		t.Fatal("entry 4 does not link to entry 3")
	}
}

func TestTriggersRefuseUpdateAndDelete(t *testing.T) {
	db := storetest.Open(t)
	appendN(t, New(db, nil), 2)
	for _, q := range []string{`UPDATE audit_log SET actor='x' WHERE seq=1`, `DELETE FROM audit_log WHERE seq=2`} {
		_, err := db.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}

func TestVerifyFindsEditsBehindTheAppsBack(t *testing.T) {
	cases := map[string]struct {
		sql     string
		wantSeq int64
	}{
		"edited detail":   {`UPDATE audit_log SET detail='forged' WHERE seq=3`, 3},
		"removed middle":  {`DELETE FROM audit_log WHERE seq=3`, 3},
		"rewritten hash":  {`UPDATE audit_log SET actor='x', hash=zeroblob(32) WHERE seq=2`, 2},
		"reordered times": {`UPDATE audit_log SET at='2020-01-01T00:00:00Z' WHERE seq=4`, 4},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			db := storetest.Open(t)
			l := New(db, nil)
			appendN(t, l, 5)
			// What an attacker with the file can do: drop the triggers, then edit.
			if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := l.Verify(context.Background())
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %v, want *ChainError", err)
			}
			if ce.Seq != tc.wantSeq {
				t.Fatalf("chain error at %d, want %d (%v)", ce.Seq, tc.wantSeq, err)
			}
		})
	}
}

func TestAppendRequiresActorAndAction(t *testing.T) {
	l := New(storetest.Open(t), nil)
	if _, err := l.Append(context.Background(), Entry{Action: "x"}); err == nil {
		t.Fatal("entry without actor accepted")
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	db := storetest.Open(t)
	l := New(db, nil)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 10 && err == nil; i++ {
				_, err = l.Append(context.Background(), Entry{Actor: "system", Action: "device.event"})
			}
			done <- err
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	head, err := l.Verify(context.Background())
	if err != nil || head.Seq != 40 {
		t.Fatalf("head %d err %v, want 40 entries in one chain", head.Seq, err)
	}
}
