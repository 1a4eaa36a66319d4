// Package routerossim is a RouterOS API simulator for tests: a TCP (or
// API-SSL) server that speaks the MikroTik RouterOS API protocol as a router
// does, so that any RouterOS API client can talk to it, and that holds
// firewall address lists, NAT and filter rules and simple queues in memory.
//
// The protocol, exactly:
//
//   - words prefixed with their length in 1 to 5 bytes (0xxxxxxx,
//     10xxxxxx+1, 110xxxxx+2, 1110xxxx+3, 0xF0+4; see [AppendLength]); any
//     form is read, the shortest is written; a reserved control byte
//     (0xF8–0xFF) ends the session;
//   - sentences ended by an empty word; empty sentences are ignored;
//   - /login with =name= and =password= (RouterOS 6.43 and later) or the
//     older challenge (/login, then =name= and =response=);
//   - .tag= on a command is echoed on every reply to it;
//   - replies !re, !done (=ret= for add), !trap (=message=, and =category=
//     where RouterOS gives one) followed by !done, !empty (optional, as
//     RouterOS 7.18+), and !fatal with a bare reason word before the router
//     closes the session (/quit, a command before login, a refused login);
//   - print with .proplist and queries (?name, ?-name, ?name=x, ?=name=x,
//     ?<name=x, ?>name=x and ?# stack operations), count-only;
//   - .id values such as *1A; remove, set, enable and disable take one id or
//     a comma-separated list of them.
//
// Menus: /ip/firewall/address-list and /ipv6/firewall/address-list (add,
// print, getall, remove, set, enable, disable; a second entry with the same
// list and address is refused with "failure: already have such entry"),
// /ip/firewall/nat and /ip/firewall/filter (the same verbs, place-before),
// /queue/simple (the same verbs; set and remove also find a queue by name;
// a second queue with the same name is refused with "failure: already have
// such name"; rates print in bits per second, see queues.go),
// /system/identity/print, /cancel and /quit.
//
// Faults (see [Faults]) make the router slow, drop connections after a
// number of sentences, answer chosen commands with a trap, refuse logins or
// go down altogether. [Server.Entries], [Server.AddEntry],
// [Server.RemoveEntry], [Server.SimpleQueues], [Server.SetSimpleQueue] and
// friends let a test look at or tamper with the
// router's state behind the client's back, and [Server.OnChange] reports
// every change made to it, with when it was made, as it happens.
package routerossim
