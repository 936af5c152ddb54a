// Package graphtest is a Microsoft Graph tenant simulator served over plain HTTP on loopback. The real
// msgraph-sdk-go client talks to it in tests, benchmarks and `resetbot demo`, so what it answers must
// look like what Graph answers: the same routes, JSON shapes, error bodies, headers and paging, and the
// same ways of failing (throttling with Retry-After, a write budget, 5xx, hangs, the SDK's
// retry-plus-gzip bug).
//
// It models only what resetbot uses: reading users with their groups, administrative units and role
// assignments, and the same from the other side (groups with members and owners, PIM for Groups
// eligibilities, administrative units with members, the tenant's role assignments); resetting
// passwords by PATCH passwordProfile and by the resetPassword long-running operation; revoking
// sessions; Temporary Access Passes, the tenant's TAP policy and users' authentication methods;
// JSON batching; and the directory audit log. Facts it rests on are in
// the design's reference/graph.md; where Graph's exact wording is unknown, a comment says the wording
// is ours.
//
// The $batch envelope is not itself subject to the fault knobs: each item is, as Graph throttles batch
// items individually.
//
// It imports bot only of resetbot's (its role IDs and names); it must not import graphsvc, which it
// stands in for on the wire, nor chat, an adapter or a store.
package graphtest
