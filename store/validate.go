package store

import (
	"context"
	"errors"
	"fmt"
)

// checkArchive reports what makes a an archive record no store accepts.
func checkArchive(a Archive) error {
	if a.JID == "" {
		return errors.New("store: archive without a JID")
	}
	if len(a.Below) != len(a.Ranges) {
		return fmt.Errorf("store: archive %q: %d ranges but %d gap reasons", a.JID, len(a.Ranges), len(a.Below))
	}
	return nil
}

// updateState is UpdateState for a store whose Update is update: f on the
// session state, then the hook ctx carries (WithTx), if any, which sees the
// changed session, in one transaction.
func updateState(ctx context.Context, update func(context.Context, func(Tx) error) error, f func(*Session) error) error {
	return update(ctx, func(tx Tx) error {
		st, err := tx.Session()
		if err != nil {
			return err
		}
		if err := f(&st); err != nil {
			return err
		}
		if err := tx.PutSession(st); err != nil {
			return err
		}
		if hook := TxHook(ctx); hook != nil {
			return hook(tx)
		}
		return nil
	})
}
