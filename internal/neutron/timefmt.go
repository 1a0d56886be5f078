package neutron

import "time"

// timeJSON formats like Neutron ("2024-01-02T03:04:05Z").
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
