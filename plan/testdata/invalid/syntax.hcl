gcp {
  project = "p"
  region = "europe-west1"
wave "w1" {
