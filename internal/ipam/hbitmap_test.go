package ipam

import (
	"math/rand/v2"
	"testing"
)

// TestHBitmapAgainstModel drives the bitmap with random take/free and
// compares next() with a linear scan, for sizes around the word and level
// boundaries.
func TestHBitmapAgainstModel(t *testing.T) {
	for _, n := range []uint64{1, 63, 64, 65, 4095, 4096, 4097, 300000} {
		h := newHBitmap(n)
		free := make([]bool, n)
		for i := range free {
			free[i] = true
		}
		rng := rand.New(rand.NewPCG(n, 1))
		for step := range 3000 {
			i := rng.Uint64N(n)
			if rng.IntN(3) == 0 {
				if got := h.free(i); got != !free[i] {
					t.Fatalf("n=%d step %d: free(%d) = %v, want %v", n, step, i, got, !free[i])
				}
				free[i] = true
			} else {
				if got := h.take(i); got != free[i] {
					t.Fatalf("n=%d step %d: take(%d) = %v, want %v", n, step, i, got, free[i])
				}
				free[i] = false
			}
			from := rng.Uint64N(n + 2)
			want := int64(-1)
			for j := from; j < n; j++ {
				if free[j] {
					want = int64(j)
					break
				}
			}
			if got := h.next(from); got != want {
				t.Fatalf("n=%d step %d: next(%d) = %d, want %d", n, step, from, got, want)
			}
		}
	}
}

func TestHBitmapFull(t *testing.T) {
	const n = 130
	h := newHBitmap(n)
	for i := range uint64(n) {
		h.take(i)
	}
	if got := h.next(0); got != -1 {
		t.Fatalf("next on a full bitmap = %d, want -1", got)
	}
	h.free(129)
	if got := h.next(0); got != 129 {
		t.Fatalf("next = %d, want 129", got)
	}
}
