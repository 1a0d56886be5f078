package vswitchd

import (
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func TestModelsMatchSchema(t *testing.T) {
	ovsdbtest.CheckGenerated(t, ".", "vswitchd", "vswitch.ovsschema", ovsdbtest.VSwitchSchema)
}
