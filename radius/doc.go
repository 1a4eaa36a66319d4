// Package radius holds RADIUS protocol pieces shared by the agent: CoA/Disconnect client, accounting listener, vendor dictionaries (issue 7).
//
// It is part of the layout in DESIGN.md §4 and is empty until that work lands.
package radius
