package keystone

import "testing"

func TestVerifyCache(t *testing.T) {
	id := testIdentity(t)
	vc, err := newVerifyCache()
	if err != nil {
		t.Fatal(err)
	}
	demo, admin := id.users[userDemo], id.users[userAdmin]
	steps := []struct {
		user     *user
		password string
		want     bool
		wantLen  int
	}{
		{demo, "wrong", false, 0},
		{demo, pwDemo, true, 1},
		{demo, pwDemo, true, 1}, // from the cache
		{demo, pwDemo + "x", false, 1},
		{admin, pwDemo, false, 1}, // another user's password
		{admin, pwAdmin, true, 2},
	}
	for i, st := range steps {
		if got := vc.verify(st.user, st.password); got != st.want {
			t.Errorf("step %d: verify(%s) = %v, want %v", i, st.user.Name, got, st.want)
		}
		if len(vc.ok) != st.wantLen {
			t.Errorf("step %d: %d cache entries, want %d", i, len(vc.ok), st.wantLen)
		}
	}
}
