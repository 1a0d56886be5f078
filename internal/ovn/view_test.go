package ovn

import (
	"strconv"
	"testing"
)

func TestCarrierAdvancesOnlyOverCompleteGenerations(t *testing.T) {
	row := func(gen, batch int) map[string]string {
		return map[string]string{keyIPAMGeneration: strconv.Itoa(gen), keyIPAMBatch: strconv.Itoa(batch)}
	}
	tests := []struct {
		name string
		rows []map[string]string
		want uint64
	}{
		{"one row per generation", []map[string]string{row(1, 1), row(2, 1)}, 2},
		{"batch incomplete", []map[string]string{row(1, 3), row(1, 3)}, 0},
		{"batch complete", []map[string]string{row(1, 3), row(1, 3), row(1, 3)}, 1},
		{"merged update, later generation first", []map[string]string{row(2, 1), row(1, 2), row(1, 2)}, 2},
		{"gap: generation 1 never seen", []map[string]string{row(2, 1), row(3, 1)}, 0},
		{"rows without batch count as one", []map[string]string{{keyIPAMGeneration: "1"}}, 1},
		{"old rows are ignored", []map[string]string{row(1, 1), row(1, 1), row(2, 2), row(2, 2)}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newView()
			for _, r := range tc.rows {
				v.noteCarrier("n", r)
			}
			if got := v.carrier["n"]; got != tc.want {
				t.Fatalf("carrier = %d, want %d", got, tc.want)
			}
		})
	}
}
