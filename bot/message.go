package bot

import "github.com/resetbot/resetbot/chat"

// Observer hears what the service does, for metrics. It is told outcomes only, never who or what.
type Observer interface {
	Command(p chat.Platform)
	Decided(v Verdict)
	ResetFinished(outcome string) // "done", or the failure's ErrorKind
}

type noObserver struct{}

func (noObserver) Command(chat.Platform) {}
func (noObserver) Decided(Verdict)       {}
func (noObserver) ResetFinished(string)  {}
