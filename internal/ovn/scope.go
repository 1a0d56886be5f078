package ovn

// Scope is who is asking: a member sees and touches only its project's
// resources (and shared networks); an admin sees everything.
type Scope struct {
	ProjectID string
	Admin     bool
}

// owns reports whether the caller may see and change a resource of the
// given project.
func (s Scope) owns(projectID string) bool { return s.Admin || s.ProjectID == projectID }
