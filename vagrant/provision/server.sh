#!/usr/bin/env bash
# server.sh — vsftpd with the test user ftptest (password ftptest) and two files.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq vsftpd >/dev/null

if ! id ftptest >/dev/null 2>&1; then
	useradd --create-home --shell /bin/bash ftptest
fi
echo 'ftptest:ftptest' | chpasswd

home=/home/ftptest
[[ -f $home/hello.txt ]] || echo 'hello through ftpgate' >"$home/hello.txt"
[[ -f $home/big.bin ]] || head -c $((20 * 1024 * 1024)) /dev/urandom >"$home/big.bin"
chown ftptest:ftptest "$home/hello.txt" "$home/big.bin"

# One vsftpd for IPv4 and IPv6 (listen_ipv6 on :: accepts both), passive and active mode.
[[ -f /etc/vsftpd.conf.orig ]] || cp /etc/vsftpd.conf /etc/vsftpd.conf.orig
cat >/etc/vsftpd.conf <<'CONF'
listen=NO
listen_ipv6=YES
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30999
port_enable=YES
connect_from_port_20=NO
ssl_enable=NO
xferlog_enable=YES
log_ftp_protocol=YES
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
CONF

systemctl enable vsftpd >/dev/null 2>&1
systemctl restart vsftpd
echo "server.sh: vsftpd ready on 203.0.113.10 and 2001:db8:2::10, user ftptest/ftptest"
