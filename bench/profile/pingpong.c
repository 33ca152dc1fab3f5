/*
 * Core-to-core round trip of a cache line: one thread pinned to CPU 0, one to CPU 1, handing a counter
 * back and forth 200,000 times; prints the mean round trip in ns for each of N samples (0.2 s apart).
 *
 *   gcc -O2 -pthread bench/profile/pingpong.c -o /tmp/pingpong && /tmp/pingpong 20
 *
 * On the project's 2-vCPU KVM guests (AMD EPYC Zen 4, session 9) it reads 60-80 ns most of the time
 * and 300-360 ns in spells of seconds, when the host runs the two virtual CPUs far apart; 2-thread
 * figures taken then are about half (docs/BENCHMARKS.md, session 9). `nabla bench` measures the same
 * with a managed probe (Nabla.Cli/Bench/CoreToCore.cs).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
static _Alignas(64) atomic_int flag;
static int iters = 200000;
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void* other(void*a){pin(1);for(int i=0;i<iters;i++){while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+1);atomic_store_explicit(&flag,2*i+2,memory_order_release);}return 0;}
int main(int argc,char**argv){int rounds=argc>1?atoi(argv[1]):20;
 for(int r=0;r<rounds;r++){atomic_store(&flag,0);pthread_t t;pthread_create(&t,0,other,0);pin(0);
  struct timespec a,b;clock_gettime(CLOCK_MONOTONIC,&a);
  for(int i=0;i<iters;i++){atomic_store_explicit(&flag,2*i+1,memory_order_release);while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+2);}
  clock_gettime(CLOCK_MONOTONIC,&b);pthread_join(t,0);
  double ns=((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/iters;printf("%.0f ",ns);fflush(stdout);
  struct timespec z={0,200000000};nanosleep(&z,0);}
 printf("\n");}
