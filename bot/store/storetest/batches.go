package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// batches: the requests of a list are found again by its ID, and lists with work left are known.
func batches(t *testing.T, s bot.Store) {
	for i, st := range []bot.State{bot.StateDone, bot.StateResetting, bot.StateApproved, bot.StateFailed} {
		r := Sample(fmt.Sprintf("R-BAT00%d", i))
		r.BatchID, r.State, r.CreatedAt = "B-ONE", st, t0.Add(time.Duration(i)*time.Second)
		create(t, s, r)
	}
	finished := Sample("R-BAT009")
	finished.BatchID, finished.State = "B-TWO", bot.StateDone
	single := Sample("R-BAT008")
	single.BatchID, single.State = "", bot.StateApproved
	create(t, s, finished)
	create(t, s, single)
	got, err := s.BatchRequests(ctx, "B-ONE")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
		if r.BatchID != "B-ONE" {
			t.Errorf("%s came back with list %q", r.ID, r.BatchID)
		}
	}
	if !reflect.DeepEqual(ids, []string{"R-BAT000", "R-BAT001", "R-BAT002", "R-BAT003"}) {
		t.Errorf("BatchRequests = %v", ids)
	}
	open, err := s.UnfinishedBatches(ctx)
	if err != nil || !reflect.DeepEqual(open, []string{"B-ONE"}) {
		t.Errorf("UnfinishedBatches = %v, %v; want [B-ONE]", open, err)
	}
}
