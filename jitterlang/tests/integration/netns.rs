//! Network namespaces joined by a veth pair, made by the tests that send real packets.

use std::process::Command;

/// Two network namespaces joined by a veth pair, removed on drop (also when the test fails).
pub(crate) struct VethPair {
    /// The namespaces' names (under /run/netns).
    pub(crate) namespaces: [String; 2],
    /// The veth device in each namespace.
    pub(crate) devices: [String; 2],
    /// The address of each device.
    pub(crate) addresses: [&'static str; 2],
}

impl VethPair {
    /// Creates the pair; `prefix` (a few letters) tells the tests' namespaces and devices apart.
    pub(crate) fn create(prefix: &str) -> VethPair {
        let pid = std::process::id();
        let pair = VethPair {
            namespaces: [format!("{prefix}A{pid}"), format!("{prefix}B{pid}")],
            devices: [format!("{prefix}a{pid}"), format!("{prefix}b{pid}")],
            addresses: ["10.231.0.1", "10.231.0.2"],
        };
        let [a, b] = &pair.namespaces;
        let [dev_a, dev_b] = &pair.devices;
        ip(&["netns", "add", a]);
        ip(&["netns", "add", b]);
        ip(&["link", "add", dev_a, "netns", a, "type", "veth", "peer", "name", dev_b, "netns", b]);
        for ((namespace, device), address) in pair.namespaces.iter().zip(&pair.devices).zip(pair.addresses) {
            ip(&["-n", namespace, "addr", "add", &format!("{address}/24"), "dev", device]);
            ip(&["-n", namespace, "link", "set", device, "up"]);
            ip(&["-n", namespace, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// The inode number of a namespace, as `netns` reports it.
    pub(crate) fn inode(&self, index: usize) -> u64 {
        let output = Command::new("stat")
            .args(["-L", "-c", "%i", &format!("/run/netns/{}", self.namespaces[index])])
            .output()
            .expect("run stat");
        String::from_utf8_lossy(&output.stdout).trim().parse().expect("an inode number")
    }

    /// `ping -c COUNT -i 0.2` from the first namespace to the second.
    pub(crate) fn ping(&self, count: u32) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[0], "ping", "-q", "-c", &count.to_string(), "-i", "0.2"])
            .arg(self.addresses[1])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run ping");
        assert!(status.success(), "ping across the veth pair failed");
    }
}

impl VethPair {
    /// Steers the packets the second namespace's device receives to `cpu`'s backlog (RPS), whichever CPU sends
    /// them.
    pub(crate) fn steer_received_to(&self, cpu: usize) {
        let path = format!("/sys/class/net/{}/queues/rx-0/rps_cpus", self.devices[1]);
        let mask = format!("{:x}", 1u64 << cpu);
        ip(&["netns", "exec", &self.namespaces[1], "sh", "-c", &format!("echo {mask} > {path}")]);
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and with it the peer.
        for namespace in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", namespace]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("run ip");
    assert!(output.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
}
