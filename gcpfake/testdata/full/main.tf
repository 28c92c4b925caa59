# Every resource kind gcpfake serves: what ferry generates per app (VMs,
# disks, firewall, instance group, health check, backend service) plus the
# cutover load balancer (hybrid NEG for the datacenter, weighted URL map,
# proxy, forwarding rule, address) and Cloud DNS.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

variable "compute_endpoint" { type = string }
variable "dns_endpoint" { type = string }
variable "project" { type = string }

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
  tags         = ["billing", "http"]
  labels = {
    app        = "billing"
    managed-by = "ferry"
  }
  metadata = {
    ferry-source-vm = "vm-${count.index + 1}"
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
    subnetwork = google_compute_subnetwork.app.id
  }
}

resource "google_compute_firewall" "http" {
  name          = "billing-allow-http"
  network       = google_compute_network.app.id
  source_ranges = ["10.0.0.0/8"]
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
    request_path = "/healthz"
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

resource "google_compute_network" "app" {
  name                    = "billing-net"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "app" {
  name          = "billing-subnet"
  region        = "us-central1"
  network       = google_compute_network.app.id
  ip_cidr_range = "10.20.0.0/24"
}

resource "google_compute_network_endpoint_group" "dc" {
  name                  = "billing-dc"
  zone                  = "us-central1-a"
  network               = google_compute_network.app.id
  network_endpoint_type = "NON_GCP_PRIVATE_IP_PORT"
  default_port          = 8080
}

resource "google_compute_network_endpoint" "dc" {
  for_each               = toset(["192.168.10.11", "192.168.10.12"])
  network_endpoint_group = google_compute_network_endpoint_group.dc.name
  zone                   = "us-central1-a"
  ip_address             = each.value
  port                   = 8080
}

resource "google_compute_backend_service" "dc" {
  name          = "billing-dc"
  protocol      = "HTTP"
  health_checks = [google_compute_health_check.http.id]
  backend {
    group                 = google_compute_network_endpoint_group.dc.id
    balancing_mode        = "RATE"
    max_rate_per_endpoint = 100
  }
}

resource "google_compute_url_map" "lb" {
  name = "billing-lb"
  default_route_action {
    weighted_backend_services {
      backend_service = google_compute_backend_service.dc.id
      weight          = 100
    }
    weighted_backend_services {
      backend_service = google_compute_backend_service.gcp.id
      weight          = 0
    }
  }
  # ferry shifts the weights at cutover; terraform must not undo that.
  lifecycle {
    ignore_changes = [default_route_action[0].weighted_backend_services]
  }
}

resource "google_compute_target_http_proxy" "lb" {
  name    = "billing-proxy"
  url_map = google_compute_url_map.lb.id
}

resource "google_compute_global_address" "lb" {
  name = "billing-ip"
}

resource "google_compute_global_forwarding_rule" "lb" {
  name                  = "billing-http"
  target                = google_compute_target_http_proxy.lb.id
  ip_address            = google_compute_global_address.lb.address
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL"
}

resource "google_dns_managed_zone" "apps" {
  name     = "apps"
  dns_name = "apps.example.com."
}

resource "google_dns_record_set" "billing" {
  managed_zone = google_dns_managed_zone.apps.name
  name         = "billing.apps.example.com."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_compute_global_forwarding_rule.lb.ip_address]
}

resource "google_dns_record_set" "billing_wrr" {
  managed_zone = google_dns_managed_zone.apps.name
  name         = "billing-wrr.apps.example.com."
  type         = "A"
  ttl          = 30
  routing_policy {
    wrr {
      weight  = 90
      rrdatas = ["192.168.10.11"]
    }
    wrr {
      weight  = 10
      rrdatas = [google_compute_global_forwarding_rule.lb.ip_address]
    }
  }
}
