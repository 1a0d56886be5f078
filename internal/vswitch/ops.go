package vswitch

import (
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// Raw OVSDB operations. They are built by hand rather than through
// libovsdb's model API because the guards need exact "wait" semantics.

var zeroTimeout = 0

// waitAbsent fails the transaction at once unless no row of table has
// column == value. ovsdb-server compares the DISTINCT projection of the
// matching rows onto column with rows: it equals {{column: value}} exactly
// when at least one row matches, so until "!=" means "none matches".
// (An empty rows list cannot be sent: libovsdb omits it from the JSON.)
func waitAbsent(table, column string, value any) ovsdb.Operation {
	return waitOp(table, column, value, ovsdb.WaitConditionNotEqual)
}

// waitPresent fails the transaction at once unless some row of table has
// column == value.
func waitPresent(table, column string, value any) ovsdb.Operation {
	return waitOp(table, column, value, ovsdb.WaitConditionEqual)
}

func waitOp(table, column string, value any, until ovsdb.WaitCondition) ovsdb.Operation {
	return ovsdb.Operation{
		Op:      ovsdb.OperationWait,
		Table:   table,
		Where:   []ovsdb.Condition{ovsdb.NewCondition(column, ovsdb.ConditionEqual, value)},
		Columns: []string{column},
		Until:   string(until),
		Rows:    []ovsdb.Row{{column: value}},
		Timeout: &zeroTimeout,
	}
}

func ovsMap(m map[string]string) ovsdb.OvsMap {
	gm := make(map[any]any, len(m))
	for k, v := range m {
		gm[k] = v
	}
	return ovsdb.OvsMap{GoMap: gm}
}

func uuidSet(uuids ...string) ovsdb.OvsSet {
	s := ovsdb.OvsSet{GoSet: make([]any, 0, len(uuids))}
	for _, u := range uuids {
		s.GoSet = append(s.GoSet, ovsdb.UUID{GoUUID: u})
	}
	return s
}

func keySet(m map[string]string) ovsdb.OvsSet {
	s := ovsdb.OvsSet{GoSet: make([]any, 0, len(m))}
	for _, k := range sortedKeys(m) {
		s.GoSet = append(s.GoSet, k)
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstError returns the index and result of the first failed operation.
// Index len(ops) means the commit itself failed (e.g. a constraint).
func firstError(res []ovsdb.OperationResult) (int, *ovsdb.OperationResult) {
	for i := range res {
		if res[i].Error != "" {
			return i, &res[i]
		}
	}
	return -1, nil
}
