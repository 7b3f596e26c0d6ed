"""Pure parsers from raw webhook payloads (dicts) to normalised Signals."""
