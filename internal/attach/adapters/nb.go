package adapters

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// NB reads OVN's northbound DB for attach.Diagnose, where the VM can
// reach it. It asks for single rows (select), never monitors: NB holds
// every port of the cloud.
type NB struct{ c client.Client }

var _ attach.NBReader = (*NB)(nil)

// DialNB connects to NB at endpoint (unix:/path, tcp:ip:port, or
// several comma-separated).
func DialNB(ctx context.Context, endpoint string, log *slog.Logger) (*NB, error) {
	dbModel, err := nbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lg := logr.FromSlogHandler(log.With("component", "libovsdb").Handler())
	c, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(endpoint), client.WithLogger(&lg))
	if err != nil {
		return nil, fmt.Errorf("NB endpoint %q: %w", endpoint, err)
	}
	if err := c.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to NB at %s: %w", endpoint, err)
	}
	return &NB{c: c}, nil
}

// Close disconnects.
func (n *NB) Close() { n.c.Close() }

// LogicalSwitchPort reads the LSP named name.
func (n *NB) LogicalSwitchPort(ctx context.Context, name string) (attach.LSP, error) {
	res, err := n.c.Transact(ctx, ovsdb.Operation{
		Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchPortTable,
		Where:   []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: name}},
		Columns: []string{"parent_name", "tag", "up"},
	})
	if err != nil {
		return attach.LSP{}, fmt.Errorf("reading Logical_Switch_Port %s: %w", name, err)
	}
	if len(res) != 1 || res[0].Error != "" {
		return attach.LSP{}, fmt.Errorf("reading Logical_Switch_Port %s: %v", name, res)
	}
	if len(res[0].Rows) == 0 {
		return attach.LSP{}, fmt.Errorf("%w: %s", attach.ErrNoLSP, name)
	}
	row := res[0].Rows[0]
	var l attach.LSP
	if v, ok := optional(row["parent_name"]).(string); ok {
		l.ParentName = v
	}
	switch v := optional(row["tag"]).(type) {
	case int:
		l.Tag = v
	case float64:
		l.Tag = int(v)
	}
	if v, ok := optional(row["up"]).(bool); ok {
		l.Up = &v
	}
	return l, nil
}

// optional is the value of an optional column: its one element, or nil.
func optional(v any) any {
	if s, ok := v.(ovsdb.OvsSet); ok {
		if len(s.GoSet) == 1 {
			return s.GoSet[0]
		}
		return nil
	}
	return v
}
