/*
 * Load generator of `npm run bench:turn`, compiled at bench time with the machine's cc.
 *
 * The Node side makes the allocations and channel bindings (long-term auth, with the
 * project's own TURN client), closes its sockets and hands their ports over: this program
 * binds the same client ports (so the server sees the same 5-tuples) and one peer socket per
 * channel, then relays a paced flood through the server with sendmmsg/recvmmsg:
 *
 *   to-peer:   client -> ChannelData(channel, payload) -> server -> relay -> peer
 *   to-client: peer -> payload -> relay -> server -> ChannelData -> client
 *
 * It reads the server's CPU time (utime+stime of /proc/<pid>/stat, all its threads) at the
 * start and end of the measured window and prints one JSON line of counts.
 *
 * usage: turn-load --server IP:PORT --pid PID --rate PKT_PER_S --warmup S --seconds S
 *                  --size BYTES --direction to-peer|to-client
 *                  --flow CLIENT_PORT:CHANNEL:PEER_PORT:RELAY_PORT ...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 256
#define BATCH 64
#define MAX_PACKET 1500

struct flow {
  int client, peer; /* sockets */
  int channel;
  struct sockaddr_in to; /* where the sender of this flow sends */
  int sender, receiver;  /* client or peer, by direction */
  unsigned char packet[MAX_PACKET];
  size_t length;
};

static struct flow flows[MAX_FLOWS];
static int flow_count;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
  fprintf(stderr, "turn-load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int udp_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket");
  int one = 1, size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "turn-load: bind 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(2);
  }
  return fd;
}

/* utime+stime of a process (all threads), in seconds. */
static double cpu_seconds(int pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) fail("open /proc/<pid>/stat");
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return 0;
  unsigned long utime = 0, stime = 0;
  /* After ')': field 3 (state) ... field 14 utime, field 15 stime. */
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    field++;
    if (field == 14) utime = strtoul(tok, NULL, 10);
    if (field == 15) {
      stime = strtoul(tok, NULL, 10);
      break;
    }
  }
  return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

/* Sends up to `count` packets of one flow; returns how many the kernel took. */
static int send_batch(struct flow *f, int count) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  if (count > BATCH) count = BATCH;
  for (int i = 0; i < count; i++) {
    iov[i].iov_base = f->packet;
    iov[i].iov_len = f->length;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &f->to;
    msgs[i].msg_hdr.msg_namelen = sizeof f->to;
  }
  int sent = sendmmsg(f->sender, msgs, count, 0);
  return sent < 0 ? 0 : sent;
}

/* Reads everything queued on a socket; returns the packet count. */
static long drain(int fd) {
  static unsigned char bufs[BATCH][MAX_PACKET];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  long total = 0;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = MAX_PACKET;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return total;
    total += n;
  }
}

int main(int argc, char **argv) {
  const char *server = NULL, *direction = "to-peer";
  int pid = 0, size = 200;
  double rate = 50000, warmup = 1, seconds = 5;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) break;
    if (!strcmp(arg, "--server")) server = value;
    else if (!strcmp(arg, "--pid")) pid = atoi(value);
    else if (!strcmp(arg, "--rate")) rate = atof(value);
    else if (!strcmp(arg, "--warmup")) warmup = atof(value);
    else if (!strcmp(arg, "--seconds")) seconds = atof(value);
    else if (!strcmp(arg, "--size")) size = atoi(value);
    else if (!strcmp(arg, "--direction")) direction = value;
    else if (!strcmp(arg, "--flow") && flow_count < MAX_FLOWS) {
      int cport, channel, pport, rport;
      if (sscanf(value, "%d:%d:%d:%d", &cport, &channel, &pport, &rport) != 4) {
        fprintf(stderr, "turn-load: bad --flow %s\n", value);
        return 2;
      }
      struct flow *f = &flows[flow_count++];
      f->client = udp_socket(cport);
      f->peer = udp_socket(pport);
      f->channel = channel;
      f->to.sin_family = AF_INET;
      f->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      f->to.sin_port = htons(rport); /* replaced by the server's port for to-peer */
    } else {
      fprintf(stderr, "turn-load: unknown argument %s\n", arg);
      return 2;
    }
    i++;
  }
  if (!server || !pid || !flow_count || size < 1 || size > MAX_PACKET - 4) {
    fprintf(stderr, "turn-load: --server, --pid, --flow and a --size up to %d are needed\n", MAX_PACKET - 4);
    return 2;
  }
  int to_peer = strcmp(direction, "to-client") != 0;
  struct sockaddr_in server_addr = {.sin_family = AF_INET};
  char host[64];
  int server_port;
  if (sscanf(server, "%63[^:]:%d", host, &server_port) != 2 || inet_pton(AF_INET, host, &server_addr.sin_addr) != 1) {
    fprintf(stderr, "turn-load: bad --server %s\n", server);
    return 2;
  }
  server_addr.sin_port = htons(server_port);
  for (int i = 0; i < flow_count; i++) {
    struct flow *f = &flows[i];
    if (to_peer) {
      f->sender = f->client;
      f->receiver = f->peer;
      f->to = server_addr;
      f->packet[0] = f->channel >> 8;
      f->packet[1] = f->channel & 0xff;
      f->packet[2] = size >> 8;
      f->packet[3] = size & 0xff;
      memset(f->packet + 4, 0xab, size);
      f->length = 4 + size;
    } else {
      f->sender = f->peer;
      f->receiver = f->client;
      memset(f->packet, 0xab, size);
      f->length = size;
    }
  }

  struct pollfd fds[MAX_FLOWS];
  for (int i = 0; i < flow_count; i++) fds[i] = (struct pollfd){.fd = flows[i].receiver, .events = POLLIN};
  long sent = 0, received = 0, window_sent = 0, window_received = 0, skipped = 0;
  double start = now_s(), window_start = start + warmup, window_end = window_start + seconds;
  double cpu_start = 0, cpu_end = 0, base = start;
  long base_sent = 0;
  int phase = 0; /* 0 warm-up, 1 window, 2 drain */
  int next_flow = 0;
  for (;;) {
    double t = now_s();
    if (phase == 0 && t >= window_start) {
      phase = 1;
      cpu_start = cpu_seconds(pid);
      window_sent = sent;
      window_received = received;
    } else if (phase == 1 && t >= window_end) {
      phase = 2;
      cpu_end = cpu_seconds(pid);
      window_sent = sent - window_sent;
      window_received = received - window_received;
    } else if (phase == 2 && t >= window_end + 0.5) {
      break;
    }
    if (phase < 2) {
      long due = (long)(rate * (t - base)) - (sent - base_sent);
      /* More than 10 ms behind: this program is the limit; skip rather than burst. */
      if (due > rate / 100 + BATCH) {
        skipped += due;
        base = t;
        base_sent = sent;
        due = 0;
      }
      while (due > 0) {
        int n = send_batch(&flows[next_flow], due);
        next_flow = (next_flow + 1) % flow_count;
        sent += n;
        due -= n;
        if (n == 0) break; /* a full socket buffer: try again next turn */
      }
    }
    for (int i = 0; i < flow_count; i++) received += drain(flows[i].receiver);
    /* Sleep until a batch is due or a packet arrives. */
    double wait = BATCH / 2.0 / rate;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(wait * 1e9)};
    ppoll(fds, flow_count, &ts, NULL);
  }
  printf(
      "{\"sent\":%ld,\"received\":%ld,\"windowSent\":%ld,\"windowReceived\":%ld,\"windowSeconds\":%.3f,"
      "\"serverCpuSeconds\":%.3f,\"skipped\":%ld}\n",
      sent, received, window_sent, window_received, seconds, cpu_end - cpu_start, skipped);
  return 0;
}
