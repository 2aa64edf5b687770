/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the ring-3 platform layer. Scenarios use only what is
 * declared here: console, services (port I/O and friends through ud2),
 * MMIO accessors, time, LAPIC/IOAPIC, boot information, command line. */
#ifndef TESTGUEST_GUEST_H
#define TESTGUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define barrier() __asm__ __volatile__("" ::: "memory")
/* Static data that the boot path does not clear (section .noinit, see
 * guest.ld): for large buffers whose users initialise them. */
#define NOINIT __attribute__((section(".bss.noinit")))

/* ---------------------------------------------------------------- lib.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Linux-style number parsing: 0x.. hex, 0.. octal, else decimal; *end is
 * set to the first unparsed character. */
uint64_t parse_u64(const char *s, const char **end);
/* Number with an optional K/M/G suffix (Linux memparse). */
uint64_t parse_size(const char *s, const char **end);
/* printf subset: %d %i %u %x %X %s %c %p %%, flags 0 and -, width, l/ll/z. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);

/* ---------------------------------------------------------------- services */
static inline uint64_t svc(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	__asm__ __volatile__("ud2"
			     : "+a"(nr), "+D"(a), "+S"(b), "+d"(c)
			     :
			     : "rcx", "memory", "cc");
	return nr;
}
static inline void outb(uint16_t port, uint8_t v) { svc(SVC_OUTB, port, v, 0); }
static inline void outw(uint16_t port, uint16_t v) { svc(SVC_OUTW, port, v, 0); }
static inline void outl(uint16_t port, uint32_t v) { svc(SVC_OUTL, port, v, 0); }
static inline uint8_t inb(uint16_t port) { return (uint8_t)svc(SVC_INB, port, 0, 0); }
static inline uint16_t inw(uint16_t port) { return (uint16_t)svc(SVC_INW, port, 0, 0); }
static inline uint32_t inl(uint16_t port) { return (uint32_t)svc(SVC_INL, port, 0, 0); }
static inline void cpu_halt(void) { svc(SVC_HLT, 0, 0, 0); }
static inline void irq_enable(bool on) { svc(SVC_IRQ_ENABLE, on, 0, 0); }
static inline uint64_t rdmsr(uint32_t msr) { return svc(SVC_RDMSR, msr, 0, 0); }
static inline void wrmsr(uint32_t msr, uint64_t v) { svc(SVC_WRMSR, msr, v, 0); }
NORETURN void triple_fault(void);

/* Pointer to guest-physical address a (identity mapped). Laundered through
 * an empty asm so that GCC does not treat low constants as NULL + offset. */
static inline void *phys(uint64_t a)
{
	__asm__("" : "+r"(a));
	return (void *)(uintptr_t)a;
}

/* ---------------------------------------------------------------- MMIO */
#define MMIO_ACCESSORS(bits)                                                   \
	static inline uint##bits##_t mmio_read##bits(uint64_t addr)            \
	{                                                                      \
		barrier();                                                     \
		uint##bits##_t v = *(volatile uint##bits##_t *)(uintptr_t)addr; \
		barrier();                                                     \
		return v;                                                      \
	}                                                                      \
	static inline void mmio_write##bits(uint64_t addr, uint##bits##_t v)   \
	{                                                                      \
		barrier();                                                     \
		*(volatile uint##bits##_t *)(uintptr_t)addr = v;               \
		barrier();                                                     \
	}
MMIO_ACCESSORS(8)
MMIO_ACCESSORS(16)
MMIO_ACCESSORS(32)
MMIO_ACCESSORS(64)

/* ---------------------------------------------------------------- CPU */
static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
struct cpuid { uint32_t eax, ebx, ecx, edx; };
struct cpuid cpuid(uint32_t leaf, uint32_t subleaf);

/* cpu.c */
void idt_init(void);
void tss_install(unsigned slot);           /* GDT descriptor for an AP slot */
void paging_map_ram_to(uint64_t end);      /* identity map up to end (<= 64 GiB) */
void page0_map(bool on);                   /* page 0 is unmapped (NULL) but at boot */
extern volatile uint64_t irq_counts[256];  /* per vector, from the ring-0 stubs */
extern volatile uint8_t apic_to_slot[256]; /* read by APs in ring 0 */

/* ---------------------------------------------------------------- time */
uint64_t tsc_hz(void);
typedef struct { uint64_t end; } deadline_t;
deadline_t deadline_in_us(uint64_t us);
bool deadline_passed(deadline_t d);
void delay_us(uint64_t us);
/* Spin (ring 3, native) until *flag != 0 or us microseconds pass. */
bool wait_nonzero(volatile uint32_t *flag, uint64_t us);

/* ---------------------------------------------------------------- APIC */
#define IOAPIC_BASE_DEFAULT 0xfec00000ull
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_enable(void);                   /* SVR on, spurious VEC_SPURIOUS, TPR 0 */
void lapic_timer_periodic(uint8_t vec, uint32_t count);
void lapic_timer_stop(void);
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void ioapic_route(uint64_t base, unsigned pin, uint8_t vec, uint32_t apic_id);
void ioapic_mask(uint64_t base, unsigned pin);
void pic_mask_all(void);                   /* legacy 8259s: mask every line */
/* Before a scenario takes interrupts: 8259s masked, LAPIC enabled (LINT0
 * masked, spurious vector VEC_SPURIOUS). Wait with cpu_halt(). */
void interrupts_init(void);

/* ---------------------------------------------------------------- console */
void console_write(const char *s, size_t n); /* one service trip per 4 KiB */
void console_unlock(void);                   /* fault path only */
void say(const char *fmt, ...) PRINTF(1, 2); /* one line, newline added */

/* ---------------------------------------------------------------- boot info */
#define E820_RAM 1
#define MAX_MEM_REGIONS 128
#define MAX_VIRTIO_DEVICES 32
struct mem_region { uint64_t base, size; uint32_t type; };
struct virtio_mmio_dev { uint64_t base, size; uint32_t irq, id; };
struct boot_info {
	uint32_t path;                     /* BOOT_LINUX or BOOT_PVH */
	uint16_t protocol;                 /* setup header version (Linux) */
	const char *cmdline;               /* copy, NUL-terminated */
	struct mem_region mem[MAX_MEM_REGIONS];
	unsigned mem_count;                /* sorted by base */
	uint64_t initrd_base, initrd_size; /* size 0: none */
	uint64_t rsdp;                     /* ACPI RSDP address, 0 if not given */
};
extern struct boot_info boot;
void bootinfo_read(void);
uint64_t ram_total(void);                  /* bytes of E820_RAM */
uint64_t ram_end(void);                    /* highest RAM end address */

/* cmdline.c: parsed kernel command line. */
#define MAX_PARAMS 64
void cmdline_parse(const char *cmdline);
const char *param_get(const char *key);    /* NULL if absent; "" for a bare key */
uint64_t param_u64(const char *key, uint64_t dflt);
extern struct virtio_mmio_dev virtio_devs[MAX_VIRTIO_DEVICES];
extern unsigned virtio_dev_count;

/* ---------------------------------------------------------------- mptable */
struct mp_cpu { uint8_t apic_id; bool bsp; };
struct mp_info {
	bool found;
	uint64_t lapic_base;
	uint64_t ioapic_base;                  /* 0: none listed */
	struct mp_cpu cpus[MAX_CPUS];
	unsigned cpu_count;                    /* enabled CPUs (capped at MAX_CPUS) */
	unsigned cpus_listed;                  /* all enabled CPU entries */
};
extern struct mp_info mp;
void mptable_read(void);                   /* fills mp */
bool acpi_read_cpus(struct mp_info *out);  /* acpi.c: the same from the MADT */

/* ---------------------------------------------------------------- main.c */
extern const char *test_name;
void test_passed(void);                              /* TEST <name> PASS */
void test_pass(const char *fmt, ...) PRINTF(1, 2);   /* TEST <name> PASS <detail> */
void test_fail(const char *fmt, ...) PRINTF(1, 2);   /* TEST <name> FAIL <reason> */
NORETURN void guest_finish(void);          /* TESTGUEST DONE, then reset */
NORETURN void machine_reset(void);

#endif
