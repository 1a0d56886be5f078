package nbdb

import (
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func TestModelsMatchSchema(t *testing.T) {
	ovsdbtest.CheckGenerated(t, ".", "nbdb", "ovn-nb.ovsschema", ovsdbtest.NBSchema)
}
