package codec

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chatter-go/chatter/core"
)

// TestEncoderList checks the spans the encoder makes of a list of NetIDs,
// in order or not, from any guess.
func TestEncoderList(t *testing.T) {
	ids := make([]core.NetID, 20)
	for i := range ids {
		ids[i] = core.NetIDFrom4([4]byte{10, 0, 0, byte(1 + i)}, 80)
	}
	tbl := core.NewNetIDTable(ids...)
	of := func(idx ...int) []core.NetID {
		out := make([]core.NetID, len(idx))
		for j, i := range idx {
			out[j] = ids[i]
		}
		return out
	}
	unknown := core.NetIDFrom4([4]byte{10, 0, 1, 1}, 80)
	for _, tc := range []struct {
		name  string
		ids   []core.NetID
		guess int
		want  []span
		err   error
	}{
		{"empty", nil, 0, nil, nil},
		{"one run from the guess", of(3, 4, 5), 3, []span{{3, 6}}, nil},
		{"one run, guess missed", of(3, 4, 5), 0, []span{{3, 6}}, nil},
		{"guess past the table", of(19), 20, []span{{19, 20}}, nil},
		{"runs and gaps", of(0, 1, 5, 7, 8, 19), 0, []span{{0, 2}, {5, 6}, {7, 9}, {19, 20}}, nil},
		{"out of order", of(5, 3, 4, 9), 0, []span{{3, 6}, {9, 10}}, nil},
		{"out of order after runs", of(1, 2, 6, 7, 0, 3), 0, []span{{0, 4}, {6, 8}}, nil},
		{"descending", of(9, 8, 7), 0, []span{{7, 10}}, nil},
		{"repeated", of(3, 3), 0, nil, ErrMalformed},
		{"repeated later", of(3, 4, 3), 0, nil, ErrMalformed},
		{"repeated out of order", of(5, 2, 5), 0, nil, ErrMalformed},
		{"unknown", []core.NetID{ids[2], unknown}, 0, nil, ErrTableRef},
		{"unknown out of order", of(5, 2, 3, 4)[:3:3], 0, []span{{2, 4}, {5, 6}}, nil},
		{"unknown after disorder", append(of(5, 2), unknown), 0, nil, ErrTableRef},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e bodyEncoder
			err := e.list(tbl, tc.ids, tc.guess, "test")
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("list: %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if d := cmp.Diff(tc.want, e.spans, cmp.AllowUnexported(span{})); d != "" && len(tc.want)+len(e.spans) > 0 {
				t.Errorf("spans (-want +got):\n%s", d)
			}
		})
	}
}
