package crypto_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/crypto"
)

func TestKeyring(t *testing.T) {
	k1, k2, k3 := testKey(1), testKey(2), testKey(3)
	type step struct {
		op      string // add, use, remove
		id      crypto.KeyID
		key     crypto.Key
		wantErr error
	}
	tests := []struct {
		name        string
		steps       []step
		wantPrimary crypto.KeyID
		wantKeys    map[crypto.KeyID]crypto.Key
	}{
		{
			name:        "new",
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1},
		},
		{
			name:        "add",
			steps:       []step{{op: "add", id: 2, key: k2}, {op: "add", id: 0, key: k3}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{0: k3, 1: k1, 2: k2},
		},
		{
			name:        "add the same key again is a no-op",
			steps:       []step{{op: "add", id: 2, key: k2}, {op: "add", id: 2, key: k2}, {op: "add", id: 1, key: k1}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1, 2: k2},
		},
		{
			name:        "add another key under an existing id",
			steps:       []step{{op: "add", id: 2, key: k2}, {op: "add", id: 2, key: k3, wantErr: crypto.ErrKeyExists}, {op: "add", id: 1, key: k2, wantErr: crypto.ErrKeyExists}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1, 2: k2},
		},
		{
			name:        "the same key under two ids",
			steps:       []step{{op: "add", id: 9, key: k1}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1, 9: k1},
		},
		{
			name:        "use",
			steps:       []step{{op: "add", id: 255, key: k2}, {op: "use", id: 255}},
			wantPrimary: 255,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1, 255: k2},
		},
		{
			name:        "use the primary again",
			steps:       []step{{op: "use", id: 1}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1},
		},
		{
			name:        "use an unknown id",
			steps:       []step{{op: "use", id: 2, wantErr: crypto.ErrUnknownKey}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1},
		},
		{
			name:        "remove the primary",
			steps:       []step{{op: "add", id: 2, key: k2}, {op: "remove", id: 1, wantErr: crypto.ErrPrimaryKey}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1, 2: k2},
		},
		{
			name:        "remove an unknown id",
			steps:       []step{{op: "remove", id: 7, wantErr: crypto.ErrUnknownKey}},
			wantPrimary: 1,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k1},
		},
		{
			name: "rotation",
			steps: []step{
				{op: "add", id: 2, key: k2},
				{op: "use", id: 2},
				{op: "remove", id: 1},
				{op: "remove", id: 1, wantErr: crypto.ErrUnknownKey},
				{op: "use", id: 1, wantErr: crypto.ErrUnknownKey},
			},
			wantPrimary: 2,
			wantKeys:    map[crypto.KeyID]crypto.Key{2: k2},
		},
		{
			name: "an id reused for another key after removal",
			steps: []step{
				{op: "add", id: 2, key: k2},
				{op: "use", id: 2},
				{op: "remove", id: 1},
				{op: "add", id: 1, key: k3},
			},
			wantPrimary: 2,
			wantKeys:    map[crypto.KeyID]crypto.Key{1: k3, 2: k2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := crypto.NewKeyring(1, k1)
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "add":
					err = r.Add(s.id, s.key)
				case "use":
					err = r.Use(s.id)
				case "remove":
					err = r.Remove(s.id)
				default:
					t.Fatalf("bad op %q", s.op)
				}
				if !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
					t.Fatalf("step %d: %s(%d) error = %v, want %v", i, s.op, s.id, err, s.wantErr)
				}
			}
			if got := r.Primary(); got != tt.wantPrimary {
				t.Errorf("Primary() = %d, want %d", got, tt.wantPrimary)
			}
			got := map[crypto.KeyID]crypto.Key{}
			for _, id := range r.IDs() {
				k, ok := r.Key(id)
				if !ok {
					t.Errorf("Key(%d) absent though IDs lists it", id)
				}
				got[id] = k
			}
			if diff := cmp.Diff(tt.wantKeys, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			for id := range 256 {
				_, ok := r.Key(crypto.KeyID(id))
				if _, want := tt.wantKeys[crypto.KeyID(id)]; ok != want {
					t.Errorf("Key(%d) present = %v, want %v", id, ok, want)
				}
			}
		})
	}
}

func TestKeyringReturnsCopies(t *testing.T) {
	r := crypto.NewKeyring(5, testKey(1))
	if err := r.Add(3, testKey(2)); err != nil {
		t.Fatal(err)
	}
	ids := r.IDs()
	if diff := cmp.Diff([]crypto.KeyID{3, 5}, ids); diff != "" {
		t.Fatalf("IDs (-want +got):\n%s", diff)
	}
	ids[0] = 99
	k, _ := r.Key(5)
	k[0] = 99
	if diff := cmp.Diff([]crypto.KeyID{3, 5}, r.IDs()); diff != "" {
		t.Errorf("IDs after changing a result (-want +got):\n%s", diff)
	}
	if k2, _ := r.Key(5); k2 != testKey(1) {
		t.Errorf("Key(5) after changing a result = %x", k2)
	}
}

// TestKeyringConcurrent runs readers against writers; run with -race.
func TestKeyringConcurrent(t *testing.T) {
	r := crypto.NewKeyring(0, testKey(0))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := crypto.KeyID(1 + (w*200+i)%50)
				_ = r.Add(id, testKey(byte(id)))
				if i%3 == 0 {
					_ = r.Use(id)
				}
				_ = r.Use(0)
				_ = r.Remove(id)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				p := r.Primary()
				if _, ok := r.Key(p); !ok {
					// The primary may change between the two calls, but
					// it is never removed while primary; a removed
					// former primary is fine.
					continue
				}
				for _, id := range r.IDs() {
					if k, ok := r.Key(id); ok && k != testKey(byte(id)) {
						t.Errorf("Key(%d) = %x, want %x", id, k, testKey(byte(id)))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if _, ok := r.Key(r.Primary()); !ok {
		t.Errorf("primary %d not in the keyring", r.Primary())
	}
}
