package bot

import (
	"context"
	"time"
)

// Several replicas share scheduled-job runs through one database, so the operation that decides
// which replica runs a slot is a single conditional write.

// JobRun is one run of a scheduled job (a digest, say) for one slot of its schedule. The slot is the
// time the schedule named, not when the run happened, so every replica names the same run.
type JobRun struct {
	Job        string
	Slot       time.Time
	Owner      string    // the replica running it
	LeaseUntil time.Time // after this, with no FinishedAt, another replica may take it over
	FinishedAt time.Time // zero while unfinished
	Claims     int       // times claimed, the first included
}

// JobRuns lets replicas agree on who runs a scheduled job, with no leader: whoever claims a slot
// runs it; a claim lapses at its lease, so a replica dying mid-run hands the run over.
type JobRuns interface {
	// ClaimJob takes (job, slot) for owner until leaseUntil when nobody has it, or when its
	// last claim lapsed before now without finishing. claimed is false when another replica holds
	// it or it is finished.
	ClaimJob(ctx context.Context, job string, slot time.Time, owner string, now, leaseUntil time.Time) (claimed bool, err error)
	// FinishJob marks the run finished; it reports false when owner no longer holds the claim (it
	// lapsed and another replica took it).
	FinishJob(ctx context.Context, job string, slot time.Time, owner string, at time.Time) (bool, error)
	// LastFinishedJob is the run with the latest slot that finished, ok false when none has.
	LastFinishedJob(ctx context.Context, job string) (run JobRun, ok bool, err error)
	// LapsedJobs lists unfinished runs of any job whose lease ended before now.
	LapsedJobs(ctx context.Context, now time.Time) ([]JobRun, error)
}
