"""Host-process machinery: launching with limits, memory (cgroups or a watchdog), pids, reaping, /proc."""
