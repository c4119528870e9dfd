#!/bin/bash
# build-box.sh — turns the rootfs of make-rootfs.sh into a vagrant-libvirt box with direct
# kernel boot (no bootloader, no partition table: /dev/vda is one ext4 file system made with
# mkfs.ext4 -d; the box's own Vagrantfile points libvirt at the kernel and initrd packed in
# the box). ≈1 min. Works on the rootfs in place (it is a build tree, not kept pristine).
#
# Environment: R (rootfs), BOX (the .box file to write), OUT (scratch directory).
set -euo pipefail
CACHE=${FTPGATE_VAGRANT_CACHE:-/var/cache/ftpgate-vagrant}
R=${R:-$CACHE/rootfs}
BOX=${BOX:-$CACHE/ftpgate-bookworm.box}
OUT=${OUT:-$CACHE/boxbuild}
KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n 1)
[[ -n $KEY ]] || KEY=$(ls /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -n 1)
[[ -n $KEY && -r $KEY ]] || { echo "build-box.sh: Vagrant's insecure public key not found" >&2; exit 1; }
[[ -x $R/usr/bin/systemctl ]] || { echo "build-box.sh: no rootfs in $R (run make-rootfs.sh)" >&2; exit 1; }

echo vagrant-box >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vagrant-box\n::1 localhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$R/etc/fstab"
# eth0 is the management network (DHCP from libvirt); Vagrant appends the private networks.
# The kernel command line has net.ifnames=0, so the names are eth0, eth1, ...
cat >"$R/etc/network/interfaces" <<'EOI'
source /etc/network/interfaces.d/*
auto lo
iface lo inet loopback
allow-hotplug eth0
iface eth0 inet dhcp
EOI
chroot "$R" id vagrant >/dev/null 2>&1 ||
	chroot "$R" useradd -m -s /bin/bash -G sudo vagrant
echo 'vagrant:vagrant' | chroot "$R" chpasswd
echo 'root:vagrant' | chroot "$R" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$R/etc/sudoers.d/vagrant"
chmod 440 "$R/etc/sudoers.d/vagrant"
install -d -m700 -o 1000 -g 1000 "$R/home/vagrant/.ssh"
install -m600 -o 1000 -g 1000 "$KEY" "$R/home/vagrant/.ssh/authorized_keys"
chroot "$R" chown -R vagrant:vagrant /home/vagrant
echo 'UseDNS no' >"$R/etc/ssh/sshd_config.d/vagrant.conf"
sed -i 's/^#\?timeout .*/timeout 30;/' "$R/etc/dhcp/dhclient.conf" || true
# virtio drivers in the initramfs (the root file system is on virtio-blk)
grep -q '^virtio_blk' "$R/etc/initramfs-tools/modules" ||
	printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >>"$R/etc/initramfs-tools/modules"
chroot "$R" update-initramfs -u -k all
# A fresh machine-id and SSH host keys on each VM's first boot.
: >"$R/etc/machine-id"
rm -f "$R"/etc/ssh/ssh_host_*
cat >"$R/etc/systemd/system/regen-ssh-keys.service" <<'EOI'
[Unit]
Description=Regenerate SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
EOI
chroot "$R" systemctl enable regen-ssh-keys.service
# No unit waits for a network that never comes (the lab networks have no DHCP).
chroot "$R" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true
chroot "$R" apt-get clean

rm -rf "$OUT"
mkdir -p "$OUT"
cp -L "$R/vmlinuz" "$OUT/vmlinuz"
cp -L "$R/initrd.img" "$OUT/initrd.img"
truncate -s 4G "$OUT/root.raw"
mkfs.ext4 -q -F -L root -d "$R" "$OUT/root.raw"
qemu-img convert -c -O qcow2 "$OUT/root.raw" "$OUT/box.img"
rm -f "$OUT/root.raw"
cat >"$OUT/metadata.json" <<'EOI'
{"provider": "libvirt", "format": "qcow2", "virtual_size": 4}
EOI
# The box's Vagrantfile: boot the packed kernel directly. net.ifnames=0 keeps eth0..ethN,
# which /etc/network/interfaces above and Vagrant's Debian guest plugin expect.
cat >"$OUT/Vagrantfile" <<'EOI'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.kernel  = File.join(File.dirname(__FILE__), "vmlinuz")
    lv.initrd  = File.join(File.dirname(__FILE__), "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 biosdevname=0 quiet"
  end
end
EOI
tmp=$BOX.tmp
(cd "$OUT" && tar czf "$tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img)
mv "$tmp" "$BOX"
rm -rf "$OUT"
ls -la "$BOX"
