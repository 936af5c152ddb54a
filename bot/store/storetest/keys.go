package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

func claim(t *testing.T, s bot.Store) {
	if ok, err := s.Claim(ctx, "slack:trigger-1", t0); !ok || err != nil {
		t.Fatalf("first claim: %v %v, want true", ok, err)
	}
	if ok, err := s.Claim(ctx, "slack:trigger-1", t0.Add(time.Second)); ok || err != nil {
		t.Fatalf("second claim: %v %v, want false", ok, err)
	}
	if ok, err := s.Claim(ctx, "slack:trigger-2", t0); !ok || err != nil {
		t.Fatalf("another key: %v %v, want true", ok, err)
	}
	// A retried delivery arriving at two replicas at once: one of them acts.
	if n := winners(t, 20, func(int) (bool, error) { return s.Claim(ctx, "teams:activity-7", t0) }); n != 1 {
		t.Errorf("%d concurrent claims won, want 1", n)
	}
}

func deliveries(t *testing.T, s bot.Store) {
	if due, err := s.DueDeliveries(ctx, t0); err != nil || len(due) != 0 {
		t.Fatalf("due deliveries of an empty store: %v %v", due, err)
	}
	ref := chat.MessageRef{Platform: chat.PlatformTeams, Channel: "a:1dm", ID: "1:dm-act", Route: "https://smba.example/amer/"}
	for i, due := range []time.Duration{time.Minute, -time.Minute, 0} {
		id := fmt.Sprint("R-DLV00", i)
		create(t, s, Sample(id)) // a delivery always belongs to a request; an engine may enforce it
		if err := s.AddDelivery(ctx, bot.Delivery{RequestID: id, Ref: ref, DueAt: t0.Add(due)}); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueDeliveries(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].RequestID != "R-DLV001" || due[1].RequestID != "R-DLV002" {
		t.Fatalf("due deliveries: %+v, want R-DLV001 then R-DLV002 (at or before now, oldest first)", due)
	}
	want := bot.Delivery{ID: due[0].ID, RequestID: "R-DLV001", Ref: ref, DueAt: t0.Add(-time.Minute)}
	if !reflect.DeepEqual(due[0], want) || due[0].ID == due[1].ID {
		t.Errorf("delivery round trip:\n got %+v\nwant %+v (and distinct IDs)", due[0], want)
	}
	if ok, err := s.RemoveDelivery(ctx, due[0].ID); !ok || err != nil {
		t.Fatalf("remove: %v %v, want true", ok, err)
	}
	if ok, err := s.RemoveDelivery(ctx, due[0].ID); ok || err != nil {
		t.Fatalf("second remove: %v %v, want false", ok, err)
	}
	if again, _ := s.DueDeliveries(ctx, t0); len(again) != 1 || again[0].ID != due[1].ID {
		t.Errorf("after removing one: %+v, want only %d", again, due[1].ID)
	}
}
