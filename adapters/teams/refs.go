package teams

import (
	"context"
	"sync"

	"github.com/resetbot/resetbot/bot"
)

// ConversationRef is what the bot must remember to write to someone later, when they are not
// talking to it: which regional connector serves them, the 1:1 conversation it opened with them,
// and their Teams user ID (29:…) in this bot's channel.
type ConversationRef = bot.ConversationRef

// ConversationRefs keeps conversation references across restarts; in resetbot serve it is the store,
// so replicas share them. Keys are the adapter's own:
//
//	user:<aadObjectId>   a person: their 1:1 conversation with the bot, service URL, Teams user ID
//	tenant:<tenantId>    the service URL the tenant's activities last came from
//	approvals            the approvals channel's service URL
type ConversationRefs = bot.ConversationRefs

// MemoryRefs keeps references in memory, lost on restart: for tests and when no store is given.
type MemoryRefs struct {
	mu sync.Mutex
	m  map[string]ConversationRef
}

// NewMemoryRefs makes an empty in-memory reference store.
func NewMemoryRefs() *MemoryRefs { return &MemoryRefs{m: map[string]ConversationRef{}} }

// GetConversationRef implements ConversationRefs.
func (s *MemoryRefs) GetConversationRef(_ context.Context, key string) (ConversationRef, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	return r, ok, nil
}

// PutConversationRef implements ConversationRefs.
func (s *MemoryRefs) PutConversationRef(_ context.Context, key string, ref ConversationRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = ref
	return nil
}
