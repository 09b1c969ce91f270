"""Pure leaves: values and formats with no netlab imports (tc units, pcap, words)."""
