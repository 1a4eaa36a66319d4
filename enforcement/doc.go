// Package enforcement defines the small interface every enforcement driver
// implements (suspend, restore, observe) and the types they share. Drivers
// live in sub-packages (logdriver, and later routeros, radius, snmp) and are
// registered explicitly by the agent's main.
package enforcement
