package graphsvc

import (
	"strings"
	"testing"
)

// A remedy about a person's password says "the password", not "reset it" of the person.
func TestRemediesSayWhatIsReset(t *testing.T) {
	for _, r := range []string{RemedySyncedObject, RemedyWritebackDisabled, RemedyWritebackAgent, RemedyOnPremisesPolicy} {
		if strings.Contains(r, "reset it") || !strings.Contains(strings.ToLower(r), "reset the password") {
			t.Errorf("the remedy does not say what is reset: %q", r)
		}
	}
}
