package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// ConversationRef is what the bot must remember to write to someone later, when they are not
// talking to it: which regional connector serves them, the 1:1 conversation it opened with them,
// and their Teams user ID (29:…) in this bot's channel. It travels through the store as the opaque
// route of a bot.ConversationRef, encoded as this JSON, which is what the store has always held.
type ConversationRef struct {
	ServiceURL     string    `json:"serviceUrl,omitempty"`
	ConversationID string    `json:"conversationId,omitempty"`
	UserID         string    `json:"userId,omitempty"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// ConversationRefs keeps conversation references across restarts; in resetbot serve it is the store,
// so replicas share them. Keys are the adapter's own:
//
//	user:<aadObjectId>   a person: their 1:1 conversation with the bot, service URL, Teams user ID
//	tenant:<tenantId>    the service URL the tenant's activities last came from
//	approvals            the approvals channel's service URL
type ConversationRefs = bot.ConversationRefs

// routes reads and writes the adapter's ConversationRefs in a ConversationRefs that keeps them opaque.
type routes struct{ kept ConversationRefs }

func (r routes) GetConversationRef(ctx context.Context, key string) (ConversationRef, bool, error) {
	kept, ok, err := r.kept.GetConversationRef(ctx, key)
	if err != nil || !ok {
		return ConversationRef{}, false, err
	}
	var ref ConversationRef
	if err := json.Unmarshal([]byte(kept.Route), &ref); err != nil {
		return ConversationRef{}, false, fmt.Errorf("conversation reference %q is damaged in the store: %w", key, err)
	}
	return ref, true, nil
}

func (r routes) PutConversationRef(ctx context.Context, key string, ref ConversationRef) error {
	route, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	return r.kept.PutConversationRef(ctx, key, bot.ConversationRef{Route: string(route), UpdatedAt: ref.UpdatedAt})
}

// MemoryRefs keeps references in memory, lost on restart: for tests and when no store is given.
type MemoryRefs struct {
	mu sync.Mutex
	m  map[string]bot.ConversationRef
}

// NewMemoryRefs makes an empty in-memory reference store.
func NewMemoryRefs() *MemoryRefs { return &MemoryRefs{m: map[string]bot.ConversationRef{}} }

// GetConversationRef implements ConversationRefs.
func (s *MemoryRefs) GetConversationRef(_ context.Context, key string) (bot.ConversationRef, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	return r, ok, nil
}

// PutConversationRef implements ConversationRefs.
func (s *MemoryRefs) PutConversationRef(_ context.Context, key string, ref bot.ConversationRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = ref
	return nil
}
