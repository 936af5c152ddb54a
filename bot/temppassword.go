package bot

import "log/slog"

// TempPassword is a generated temporary password. It redacts itself wherever it could leak by
// accident: fmt verbs, slog, JSON. Only Reveal gives the value, and only two places call it: the
// directory call that sets it, and the DM renderer that shows it to the person it is for.
type TempPassword struct{ value string }

// NewTempPassword wraps a generated value.
func NewTempPassword(v string) TempPassword { return TempPassword{value: v} }

const redacted = "[redacted]"

// Reveal returns the password itself.
func (p TempPassword) Reveal() string { return p.value }

// IsZero reports whether no password is held.
func (p TempPassword) IsZero() bool { return p.value == "" }

func (p TempPassword) String() string               { return redacted }
func (p TempPassword) GoString() string             { return redacted }
func (p TempPassword) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (p TempPassword) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (p TempPassword) MarshalText() ([]byte, error) { return []byte(redacted), nil }
