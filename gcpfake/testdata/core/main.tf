# The core of what ferry's terraform generator emits per app: VMs with boot
# and data disks, a firewall rule, an unmanaged instance group, a health
# check and a backend service.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

variable "compute_endpoint" { type = string }
variable "dns_endpoint" { type = string }
variable "project" { type = string }
variable "generation" {
  type    = string
  default = "1"
}

provider "google" {
  project                 = var.project
  region                  = "us-central1"
  zone                    = "us-central1-a"
  access_token            = "gcpfake-token"
  compute_custom_endpoint = var.compute_endpoint
  dns_custom_endpoint     = var.dns_endpoint
}

resource "google_compute_disk" "data" {
  name = "app-1-data"
  type = "pd-balanced"
  size = 50
  zone = "us-central1-a"
  labels = {
    app = "billing"
  }
}

resource "google_compute_instance" "vm" {
  count        = 2
  name         = "app-${count.index + 1}"
  machine_type = "e2-standard-2"
  zone         = "us-central1-a"
  tags         = ["billing", "http", "gen-${var.generation}"]
  labels = {
    app        = "billing"
    managed-by = "ferry"
    generation = var.generation
  }
  metadata = {
    ferry-source-vm = "vm-${count.index + 1}"
    generation      = var.generation
  }

  boot_disk {
    initialize_params {
      image = "projects/debian-cloud/global/images/debian-12-bookworm-v20250101"
      size  = 20
      type  = "pd-balanced"
    }
  }

  dynamic "attached_disk" {
    for_each = count.index == 0 ? [google_compute_disk.data.self_link] : []
    content {
      source      = attached_disk.value
      device_name = "data"
    }
  }

  network_interface {
    network = "default"
  }
}

resource "google_compute_firewall" "http" {
  name          = "billing-allow-http"
  network       = "default"
  source_ranges = ["10.0.0.0/8", "172.16.${var.generation}.0/24"]
  target_tags   = ["billing"]
  allow {
    protocol = "tcp"
    ports    = ["80", "8080"]
  }
}

resource "google_compute_instance_group" "app" {
  name      = "billing-ig"
  zone      = "us-central1-a"
  instances = google_compute_instance.vm[*].self_link
  named_port {
    name = "http"
    port = 8080
  }
}

resource "google_compute_health_check" "http" {
  name = "billing-hc"
  http_health_check {
    port         = 8080
    request_path = "/healthz/${var.generation}"
  }
}

resource "google_compute_backend_service" "gcp" {
  name          = "billing-gcp"
  port_name     = "http"
  protocol      = "HTTP"
  health_checks = [google_compute_health_check.http.id]
  backend {
    group = google_compute_instance_group.app.self_link
  }
}
