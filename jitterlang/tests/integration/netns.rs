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
        self.ping_with(&["-q", "-c", &count.to_string(), "-i", "0.2"]);
    }

    /// `ping ARGS` from the first namespace to the second; returns what it printed.
    pub(crate) fn ping_with(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.namespaces[0], "ping"])
            .args(args)
            .arg(self.addresses[1])
            .output()
            .expect("run ping");
        assert!(output.status.success(), "ping across the veth pair failed: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Turns GRO on for the second namespace's device: the veth driver then hands it the packets through NAPI
    /// and `napi_gro_receive`, for those of a sender without TSO (`veth_skb_is_eligible_for_gro`), so TSO is
    /// turned off on the first. Needs ethtool (tools/setup-host).
    pub(crate) fn receive_through_gro(&self) {
        ip(&["netns", "exec", &self.namespaces[0], "ethtool", "-K", &self.devices[0], "tso", "off"]);
        ip(&["netns", "exec", &self.namespaces[1], "ethtool", "-K", &self.devices[1], "gro", "on"]);
    }

    /// Runs `work` on a thread inside namespace `index` (setns changes only the calling thread's namespace).
    pub(crate) fn in_namespace<T: Send + 'static>(
        &self,
        index: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.namespaces[index]);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: setns on a valid namespace fd affects only this thread.
            let joined = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
            assert_eq!(joined, 0, "setns {path}: {}", std::io::Error::last_os_error());
            work()
        })
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
