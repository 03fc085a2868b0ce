/*
 * tcpconf's C side of the lwIP adapter: the parts of lwIP that are macros, inline functions or
 * struct fields rather than exported functions (the core lock, the netif, the PCB lists, the
 * socket -> PCB link), behind a few plain functions the Rust side declares in `ffi.rs`.
 *
 * Every function that touches lwIP's core state takes the tcpip core lock (LWIP_TCPIP_CORE_LOCKING
 * is on in Debian's build), so it runs exactly as lwIP's own tcpip thread would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/api.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sockets.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "lwip/priv/sockets_priv.h"
#include "lwip/priv/tcp_priv.h"

/* The Rust side passes Linux's errno, socket-option and flag numbers straight through: that is
 * only right for a build whose socket API uses the system headers and errno. Fail loudly on any
 * other lwIP configuration instead of mistranslating silently. */
#if !LWIP_SOCKET_EXTERNAL_HEADERS || !defined(LWIP_ERRNO_STDINCLUDE)
#error "tcpconf needs an lwIP built with the system's socket headers and errno (Debian's liblwip-dev)"
#endif
#if NO_SYS || !LWIP_TCPIP_CORE_LOCKING || !LWIP_TCP || !LWIP_IPV4
#error "tcpconf needs an lwIP with an OS port (NO_SYS=0), core locking, TCP and IPv4"
#endif

/* Called with each packet lwIP sends, under the core lock. */
typedef void (*tcpconf_output_fn)(const uint8_t *packet, size_t len);

static struct netif tc_netif;
static int tc_netif_added;
static tcpconf_output_fn tc_output;
static uint16_t tc_mtu = 1500;

/* One TCP endpoint, as tcpconf_lwip_pcbs() reports it. */
struct tcpconf_pcb {
  uintptr_t id;        /* the PCB's address: matched against tcpconf_lwip_socket_pcb() */
  int32_t state;       /* lwIP's enum tcp_state */
  uint8_t is_ipv6;
  uint8_t local_ip[16];
  uint16_t local_port;
  uint8_t remote_ip[16];
  uint16_t remote_port;
};

/* Only ever used under the core lock, so one buffer serves every thread that emits. */
static uint8_t tc_out_buf[0xffff];

static void copy_and_emit(struct pbuf *p)
{
  u16_t len = p->tot_len;
  if (tc_output == NULL || len == 0) {
    return;
  }
  if (pbuf_copy_partial(p, tc_out_buf, len, 0) != len) {
    return;
  }
  tc_output(tc_out_buf, len);
}

static err_t tc_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop)
{
  LWIP_UNUSED_ARG(netif);
  LWIP_UNUSED_ARG(next_hop);
  copy_and_emit(p);
  return ERR_OK;
}

#if LWIP_IPV6
static err_t tc_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *next_hop)
{
  LWIP_UNUSED_ARG(netif);
  LWIP_UNUSED_ARG(next_hop);
  copy_and_emit(p);
  return ERR_OK;
}
#endif

static err_t tc_netif_init(struct netif *netif)
{
  netif->name[0] = 't';
  netif->name[1] = 'c';
  netif->output = tc_output4;
#if LWIP_IPV6
  netif->output_ip6 = tc_output6;
  /* No router solicitations, SLAAC or MLD reports: a point-to-point raw-IP link whose only
   * traffic is the script's. */
  netif->rs_count = 0;
  netif->ip6_autoconfig_enabled = 0;
#endif
  netif->mtu = tc_mtu;
  netif->flags = NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

/*
 * Virtual time. lwIP's port supplies sys_now(), the millisecond clock behind every lwIP timer
 * (TCP's 250 ms tick, and through it retransmission, delayed ACK, TIME-WAIT). liblwip.so defines
 * one too, but calls it through its PLT, so this definition — exported from the executable because
 * a linked shared library names it — interposes it: lwIP's clock is the one tcpconf sets, and
 * time passes only when tcpconf_lwip_advance() says so. tcpconf_lwip_start() checks that the
 * interposition took effect.
 */
static u32_t tc_now_ms;

u32_t sys_now(void)
{
  return __atomic_load_n(&tc_now_ms, __ATOMIC_ACQUIRE);
}

/* Starts lwIP's tcpip thread (once per process) and registers the packet sink. Returns 0, or -1
 * when the dynamic linker bound lwIP to its own sys_now() (then lwIP is not started). */
int tcpconf_lwip_start(tcpconf_output_fn output)
{
  static int started;
  LWIP_ASSERT("tcpconf_lwip_start called twice", !started);
  if (dlsym(RTLD_DEFAULT, "sys_now") != (void *)sys_now) {
    return -1;
  }
  started = 1;
  tcpip_init(NULL, NULL);
  LOCK_TCPIP_CORE();
  tc_output = output;
  UNLOCK_TCPIP_CORE();
  return 0;
}

/* lwIP's current time in milliseconds. */
uint32_t tcpconf_lwip_now_ms(void)
{
  return sys_now();
}

/* When lwIP's next timer is due, in its milliseconds; 0 when none is pending. */
int tcpconf_lwip_next_timer(uint32_t *due_ms)
{
  u32_t sleep;
  LOCK_TCPIP_CORE();
  sleep = sys_timeouts_sleeptime();
  *due_ms = sys_now() + sleep;
  UNLOCK_TCPIP_CORE();
  return sleep != SYS_TIMEOUTS_SLEEPTIME_INFINITE;
}

/*
 * lwIP 2.1.3 frees a TIME-WAIT PCB when 2 MSL have passed (tcp_slowtmr) or when it is abandoned
 * without telling the netconn that may still own it: a socket that was shut down for writing and
 * then received the peer's FIN is in TIME-WAIT with its fd still open, and its netconn keeps
 * pointing at the freed PCB — closing that fd later frees it again. Detaching such a PCB from its
 * netconn just before lwIP frees it (as err_tcp does for the PCBs lwIP does report) leaves the
 * socket a closed connection instead. The fd keeps mapping to the PCB for as long as it exists.
 */
static void detach_from_netconn(struct tcp_pcb *pcb)
{
  struct netconn *conn = (struct netconn *)pcb->callback_arg;
  if (conn == NULL) {
    return;
  }
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_poll(pcb, NULL, 0);
  tcp_err(pcb, NULL);
  if (conn->pcb.tcp == pcb) {
    conn->pcb.tcp = NULL;
  }
}

/* Detaches the TIME-WAIT PCBs the next slow tick will free. Under the core lock. */
static void detach_expiring_time_wait(void)
{
  struct tcp_pcb *pcb;
  for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
    if ((u32_t)(tcp_ticks + 1 - pcb->tmr) > 2 * TCP_MSL / TCP_SLOW_INTERVAL) {
      detach_from_netconn(pcb);
    }
  }
}

/* Whether `pcb` is on one of lwIP's PCB lists and still `conn`'s (the memory may have been freed
 * and handed to another connection). Under the core lock. */
static int pcb_is_conns(const struct tcp_pcb *pcb, const struct netconn *conn)
{
  struct tcp_pcb *const *lists[] = {&tcp_active_pcbs, &tcp_tw_pcbs, &tcp_bound_pcbs,
                                    &tcp_listen_pcbs.pcbs};
  size_t i;
  const struct tcp_pcb *p;
  for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    for (p = *lists[i]; p != NULL; p = p->next) {
      if (p == pcb) {
        return p->callback_arg == conn;
      }
    }
  }
  return 0;
}

/*
 * lwIP 2.1.3 also frees a PCB behind its netconn's back in LAST-ACK: when the ACK of our FIN
 * arrives and the netconn's receive side is already shut (TF_RXCLOSED, which reading the end of
 * the stream sets through netconn_recv_data_tcp), tcp_input removes and frees the PCB without
 * TCP_EVENT_ERR, so the netconn keeps the freed pointer and closing the socket frees it again
 * (glibc: "double free detected"). After every input and timer step, a netconn whose PCB was on
 * one of lwIP's lists at the previous step and is no longer its own is detached; the socket is
 * then a closed connection. A fresh PCB (tcp_new, not yet bound) is on no list and is left alone.
 * `tc_listed` remembers, per socket, the PCB last seen listed. Under the core lock.
 */
static const struct tcp_pcb *tc_listed[MEMP_NUM_NETCONN];

static void detach_freed_pcbs(void)
{
  int i;
  struct lwip_sock *sock;
  struct netconn *conn;
  for (i = 0; i < MEMP_NUM_NETCONN; i++) {
    sock = lwip_socket_dbg_get_socket(i + LWIP_SOCKET_OFFSET);
    conn = sock != NULL ? sock->conn : NULL;
    if (conn == NULL || NETCONNTYPE_GROUP(netconn_type(conn)) != NETCONN_TCP ||
        conn->pcb.tcp == NULL) {
      tc_listed[i] = NULL;
    } else if (pcb_is_conns(conn->pcb.tcp, conn)) {
      tc_listed[i] = conn->pcb.tcp;
    } else if (tc_listed[i] == conn->pcb.tcp) {
      conn->pcb.tcp = NULL;
      tc_listed[i] = NULL;
    }
  }
}

/*
 * lwIP 2.1.3 can leave a PCB's zero-window persist timer running with nothing left to send: a
 * zero window starts it, and an ACK that then acknowledges all the data (lwIP takes the ACK even
 * of a segment whose sequence number is outside the window) empties the queues without stopping
 * it. The next slow timer then fails LWIP_ASSERT("tcp_slowtimr: persist ticking with empty send
 * buffer") and ends the process. Found by tcpconf explore: 10 bytes unacknowledged, an old ACK with
 * window 0, then after 10 s an ACK of everything with window 1 at a far sequence number. Before
 * the timers run, a persist timer whose preconditions no longer hold (something unsent, nothing
 * unacknowledged) is stopped, as tcp_receive stops it when the window opens. Under the core lock.
 */
static void stop_orphaned_persist_timers(void)
{
  struct tcp_pcb *pcb;
  for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
    if (pcb->persist_backoff > 0 && (pcb->unsent == NULL || pcb->unacked != NULL)) {
      pcb->persist_backoff = 0;
      pcb->persist_cnt = 0;
      pcb->persist_probe = 0;
    }
  }
}

/* Sets lwIP's clock to `now_ms` (never backwards) and runs every timer due by then. The caller
 * steps from one due time to the next, so each timer runs at its own time (lwIP restarts a cyclic
 * timer that is overdue by a whole interval instead of catching up). */
void tcpconf_lwip_advance(uint32_t now_ms)
{
  LOCK_TCPIP_CORE();
  if ((s32_t)(now_ms - sys_now()) > 0) {
    __atomic_store_n(&tc_now_ms, now_ms, __ATOMIC_RELEASE);
  }
  detach_expiring_time_wait();
  stop_orphaned_persist_timers();
  sys_check_timeouts();
  detach_freed_pcbs();
  UNLOCK_TCPIP_CORE();
}

/* (Re)creates the raw-IP netif with these addresses. `ip6` may be NULL. Returns 0 or -1. */
int tcpconf_lwip_netif_setup(const uint8_t ip4[4], uint8_t prefix4, const uint8_t gw4[4],
                             const uint8_t *ip6, uint16_t mtu)
{
  ip4_addr_t addr, mask, gw;
  u32_t mask_host = prefix4 == 0 ? 0 : (prefix4 >= 32 ? 0xffffffffUL : ~((1UL << (32 - prefix4)) - 1));
  int ok = 1;

  IP4_ADDR(&addr, ip4[0], ip4[1], ip4[2], ip4[3]);
  IP4_ADDR(&gw, gw4[0], gw4[1], gw4[2], gw4[3]);
  ip4_addr_set_u32(&mask, lwip_htonl(mask_host));

  LOCK_TCPIP_CORE();
  /* A new run: no PCB of an earlier run's sockets is remembered. */
  memset(tc_listed, 0, sizeof(tc_listed));
  if (tc_netif_added) {
    netif_remove(&tc_netif);
    tc_netif_added = 0;
  }
  memset(&tc_netif, 0, sizeof(tc_netif));
  tc_mtu = mtu;
  if (netif_add(&tc_netif, &addr, &mask, &gw, NULL, tc_netif_init, ip_input) == NULL) {
    ok = 0;
  } else {
    tc_netif_added = 1;
#if LWIP_IPV6
    if (ip6 != NULL) {
      ip6_addr_t a6;
      s8_t idx = -1;
      memcpy(&a6.addr, ip6, 16);
      ip6_addr_clear_zone(&a6);
      if (netif_add_ip6_address(&tc_netif, &a6, &idx) != ERR_OK || idx < 0) {
        ok = 0;
      } else {
        /* Skip duplicate address detection: its neighbour solicitations are not the script's. */
        netif_ip6_addr_set_state(&tc_netif, idx, IP6_ADDR_PREFERRED);
      }
    }
#else
    if (ip6 != NULL) {
      ok = 0;
    }
#endif
    netif_set_default(&tc_netif);
    netif_set_link_up(&tc_netif);
    netif_set_up(&tc_netif);
  }
  UNLOCK_TCPIP_CORE();
  return ok ? 0 : -1;
}

/* Whether this lwIP was built with IPv6. */
int tcpconf_lwip_has_ipv6(void)
{
  return LWIP_IPV6;
}

/* Hands one raw IP packet to lwIP's IP input, synchronously under the core lock, so that every
 * packet lwIP sends in reply has been emitted when this returns. Returns 0, or -1 when no buffer
 * could be allocated or the netif is missing. */
int tcpconf_lwip_input(const uint8_t *packet, size_t len)
{
  struct pbuf *p;
  if (len == 0 || len > 0xffff) {
    return -1;
  }
  LOCK_TCPIP_CORE();
  if (!tc_netif_added) {
    UNLOCK_TCPIP_CORE();
    return -1;
  }
  p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
  if (p == NULL) {
    UNLOCK_TCPIP_CORE();
    return -1;
  }
  memcpy(p->payload, packet, len);
  /* ip_input takes ownership of the pbuf whatever it decides. */
  tc_netif.input(p, &tc_netif);
  detach_freed_pcbs();
  UNLOCK_TCPIP_CORE();
  return 0;
}

/* Fills `out` from the fields every PCB kind shares; the caller sets the remote port, which
 * listening PCBs do not have. */
static void report(const void *id, enum tcp_state state, const ip_addr_t *local,
                   const ip_addr_t *remote, u16_t local_port, struct tcpconf_pcb *out)
{
  memset(out, 0, sizeof(*out));
  out->id = (uintptr_t)id;
  out->state = (int32_t)state;
#if LWIP_IPV6
  /* A dual-stack (AF_INET6 on ::) listener has an any-type address: report it as IPv6. */
  if (IP_IS_V6(local) || IP_IS_V6(remote) || IP_IS_ANY_TYPE_VAL(*local)) {
    out->is_ipv6 = 1;
    memcpy(out->local_ip, ip_2_ip6(local)->addr, 16);
    memcpy(out->remote_ip, ip_2_ip6(remote)->addr, 16);
  } else
#endif
  {
    u32_t l = ip4_addr_get_u32(ip_2_ip4(local));
    u32_t r = ip4_addr_get_u32(ip_2_ip4(remote));
    memcpy(out->local_ip, &l, 4);
    memcpy(out->remote_ip, &r, 4);
  }
  out->local_port = local_port;
}

/* Copies up to `cap` endpoints from the listen, active and TIME-WAIT lists; returns how many
 * exist (which may exceed `cap`: call again with a bigger buffer). */
size_t tcpconf_lwip_pcbs(struct tcpconf_pcb *out, size_t cap)
{
  size_t n = 0;
  struct tcp_pcb_listen *l;
  struct tcp_pcb *pcb;
  LOCK_TCPIP_CORE();
  for (l = tcp_listen_pcbs.listen_pcbs; l != NULL; l = l->next) {
    if (n < cap) {
      report(l, l->state, &l->local_ip, &l->remote_ip, l->local_port, &out[n]);
    }
    n++;
  }
  for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
    if (n < cap) {
      report(pcb, pcb->state, &pcb->local_ip, &pcb->remote_ip, pcb->local_port, &out[n]);
      out[n].remote_port = pcb->remote_port;
    }
    n++;
  }
  for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
    if (n < cap) {
      report(pcb, pcb->state, &pcb->local_ip, &pcb->remote_ip, pcb->local_port, &out[n]);
      out[n].remote_port = pcb->remote_port;
    }
    n++;
  }
  UNLOCK_TCPIP_CORE();
  return n;
}

/* The PCB behind socket `fd` (as tcpconf_pcb.id), or 0 when it has none (closed, aborted). */
uintptr_t tcpconf_lwip_socket_pcb(int fd)
{
  uintptr_t id = 0;
  struct lwip_sock *sock;
  LOCK_TCPIP_CORE();
  sock = lwip_socket_dbg_get_socket(fd);
  if (sock != NULL && sock->conn != NULL &&
      NETCONNTYPE_GROUP(netconn_type(sock->conn)) == NETCONN_TCP) {
    id = (uintptr_t)sock->conn->pcb.tcp;
  }
  UNLOCK_TCPIP_CORE();
  return id;
}

/* Bytes written to socket `fd` and not yet acknowledged (SIOCOUTQ's meaning), FIN included as
 * Linux counts it; -1 when the socket has no PCB. */
long tcpconf_lwip_socket_outq(int fd)
{
  long outq = -1;
  struct lwip_sock *sock;
  LOCK_TCPIP_CORE();
  sock = lwip_socket_dbg_get_socket(fd);
  if (sock != NULL && sock->conn != NULL &&
      NETCONNTYPE_GROUP(netconn_type(sock->conn)) == NETCONN_TCP && sock->conn->pcb.tcp != NULL) {
    struct tcp_pcb *pcb = sock->conn->pcb.tcp;
    if (pcb->state != LISTEN && pcb->state != CLOSED && pcb->state != SYN_SENT) {
      outq = (long)(u32_t)(pcb->snd_lbb - pcb->lastack);
    } else {
      outq = 0;
    }
  }
  UNLOCK_TCPIP_CORE();
  return outq;
}

/* Puts the parity of lwIP's TCP ticks (tcp.c's private tcp_timer: every second 250 ms tick also
 * runs the 500 ms slow timer) in the same state at the start of every run, so that slow-timer
 * deadlines (retransmission, TIME-WAIT) fall at the same run times whatever ran before. Afterwards
 * the run's first TCP tick is a fast-only one. Only call with no PCBs left. */
void tcpconf_lwip_align_tcp_ticks(void)
{
  int i;
  LOCK_TCPIP_CORE();
  for (i = 0; i < 2; i++) {
    u32_t before = tcp_ticks;
    tcp_tmr();
    if (tcp_ticks != before) {
      break;
    }
  }
  UNLOCK_TCPIP_CORE();
}

/* The size of tcp.c's ephemeral-port range (TCP_LOCAL_PORT_RANGE_START/END, 0xc000 up to at
 * most 0xffff), which no header exports: the most ports the cursor visits before it repeats. */
#define TC_PORT_RANGE_SIZE 0x4000

/* Puts the two counters of tcp.c that outlive a run at the same values at the start of every run,
 * so that what a script sees does not depend on which runs came before it (with `-j N` their order
 * varies): the ISS generator (tcp_next_iss: a static `iss += tcp_ticks`, so a RST that carries an
 * absolute sequence number would show it) and the ephemeral-port cursor (tcp_new_port's static
 * tcp_port). Both are private to tcp.c and only move through the calls that use them, so they are
 * steered through those: tcp_next_iss with tcp_ticks chosen to land `iss` on `iss_base`, and
 * throwaway PCBs bound to port 0 until the cursor has handed out `last_port` (the run's first
 * ephemeral port is the one after it). Afterwards tcp_ticks is 0, as in a freshly started lwIP;
 * the first ISS is `iss_base` plus the ticks that pass before it is drawn. Steering the cursor
 * walks the whole range (16 384 binds, about a millisecond), so it happens only when `ports` says
 * the cursor may have moved since the last reset. Only call with no PCBs left (tcp_ticks then
 * times nothing, and no port is taken). Returns 0, or -1 if lwIP could not allocate or bind a PCB
 * or never handed out `last_port`. */
int tcpconf_lwip_reset_counters(u32_t iss_base, u16_t last_port, int ports)
{
  struct tcp_pcb *pcb;
  u32_t current, i;
  int ret = -1;
  LOCK_TCPIP_CORE();
  pcb = tcp_new();
  if (pcb != NULL) {
    tcp_ticks = 0;
    current = tcp_next_iss(pcb);
    tcp_ticks = iss_base - current;
    (void)tcp_next_iss(pcb);
    tcp_ticks = 0;
    tcp_close(pcb);
    ret = ports ? -1 : 0;
    /* The cursor visits every port of the range in turn; with no PCBs none is skipped. */
    for (i = 0; ports && i <= TC_PORT_RANGE_SIZE; i++) {
      pcb = tcp_new();
      if (pcb == NULL) {
        break;
      }
      if (tcp_bind(pcb, IP_ANY_TYPE, 0) != ERR_OK) {
        tcp_close(pcb);
        break;
      }
      current = pcb->local_port;
      tcp_close(pcb);
      if (current == last_port) {
        ret = 0;
        break;
      }
    }
  }
  UNLOCK_TCPIP_CORE();
  return ret;
}

/* Whether socket `fd` is still inside a lingering close (its netconn's close is pending). */
int tcpconf_lwip_socket_closing(int fd)
{
  int closing = 0;
  struct lwip_sock *sock;
  LOCK_TCPIP_CORE();
  sock = lwip_socket_dbg_get_socket(fd);
  if (sock != NULL && sock->conn != NULL) {
    closing = sock->conn->state == NETCONN_CLOSE;
  }
  UNLOCK_TCPIP_CORE();
  return closing;
}

/* Frees every non-listening PCB without sending anything (tcp_abandon with reset = 0): the
 * netconns that own some of them get ERR_ABRT, which wakes any thread blocked on them. Listeners
 * belong to their sockets and go when those are closed. */
void tcpconf_lwip_abandon_all(void)
{
  LOCK_TCPIP_CORE();
  while (tcp_active_pcbs != NULL) {
    tcp_abandon(tcp_active_pcbs, 0);
  }
  while (tcp_tw_pcbs != NULL) {
    detach_from_netconn(tcp_tw_pcbs);
    tcp_abandon(tcp_tw_pcbs, 0);
  }
  UNLOCK_TCPIP_CORE();
}
