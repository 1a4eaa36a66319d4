package staff

import "time"

// Backoff policy: the first FreeFailures failed sign-ins of a user from
// one address cost nothing; each further one doubles the wait, from
// BackoffBase up to BackoffCap. It slows guessing to a crawl without
// letting anyone lock a user out: the user, from another address, is not
// slowed, and an admin can clear the failures.
const (
	FreeFailures = 3
	BackoffBase  = time.Second
	BackoffCap   = 15 * time.Minute
)

// Backoff is how long after the last failure the next attempt of a user
// from an address is refused, given how many failures in a row there were.
func Backoff(failures int) time.Duration {
	if failures <= FreeFailures {
		return 0
	}
	d := BackoffBase
	for i := FreeFailures + 1; i < failures; i++ {
		d *= 2
		if d >= BackoffCap {
			return BackoffCap
		}
	}
	return d
}

// RetryAfter is how long from now an attempt must still wait (0: it may
// go ahead), given the failures in a row and when the last one was.
func RetryAfter(failures int, lastFailure, now time.Time) time.Duration {
	wait := lastFailure.Add(Backoff(failures)).Sub(now)
	if wait < 0 {
		return 0
	}
	return wait
}
