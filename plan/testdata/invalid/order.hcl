gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api"]
}

wave "wave-2" {
  apps = ["ledger", "reports"]
}

wave "wave-3" {
  apps = ["reports"]
}
