"""Looking back instead of waiting: rebuilding the store from GitHub after it was lost, and
reconciling what GitHub shows with the incidents when webhooks went missing."""
