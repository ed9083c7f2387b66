//! BCM2711 drivers (being written).
#![no_std]
