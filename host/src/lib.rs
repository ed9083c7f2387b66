//! Kingly OS host companion (placeholder, being written).
