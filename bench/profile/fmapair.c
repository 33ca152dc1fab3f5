// Pure arithmetic on two pinned threads against one: whether the host gives the two vCPUs two cores' worth
// of FMA throughput (session 10: 1.8-2.1x in every sample, also while cache lines crossed at 300+ ns).
// gcc -O2 -mavx512f -mfma -pthread -o fmapair bench/profile/fmapair.c && ./fmapair 60
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <stdatomic.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static atomic_int go; static double res[2];
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static double burn(long iters){
  __m512 a0=_mm512_set1_ps(1),a1=_mm512_set1_ps(1.1f),a2=_mm512_set1_ps(1.2f),a3=_mm512_set1_ps(1.3f),a4=_mm512_set1_ps(1.4f),a5=_mm512_set1_ps(1.5f),a6=_mm512_set1_ps(1.6f),a7=_mm512_set1_ps(1.7f),a8=_mm512_set1_ps(1.8f),a9=_mm512_set1_ps(1.9f),b=_mm512_set1_ps(0.999999f),c=_mm512_set1_ps(1e-7f);
  double t0=now();
  for(long i=0;i<iters;i++){a0=_mm512_fmadd_ps(a0,b,c);a1=_mm512_fmadd_ps(a1,b,c);a2=_mm512_fmadd_ps(a2,b,c);a3=_mm512_fmadd_ps(a3,b,c);a4=_mm512_fmadd_ps(a4,b,c);
   a5=_mm512_fmadd_ps(a5,b,c);a6=_mm512_fmadd_ps(a6,b,c);a7=_mm512_fmadd_ps(a7,b,c);a8=_mm512_fmadd_ps(a8,b,c);a9=_mm512_fmadd_ps(a9,b,c);}
  double t=now()-t0; volatile float s=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0,a1),_mm512_add_ps(a2,a3)),_mm512_add_ps(_mm512_add_ps(a4,a5),_mm512_add_ps(_mm512_add_ps(a6,a7),_mm512_add_ps(a8,a9))))); (void)s;
  return iters*10.0*32/t/1e9;
}
static void* worker(void*p){int id=(int)(long)p;pin(id);while(!atomic_load(&go));res[id]=burn(20000000);return 0;}
int main(int argc,char**argv){int n=argc>1?atoi(argv[1]):20;
 for(int r=0;r<n;r++){
  pin(0); double one=burn(20000000);
  atomic_store(&go,0); pthread_t t[2]; for(long i=0;i<2;i++)pthread_create(&t[i],0,worker,(void*)i);
  atomic_store(&go,1); for(int i=0;i<2;i++)pthread_join(t[i],0);
  printf("1t %.0f GF | 2t %.0f + %.0f = %.0f GF (x%.2f)\n",one,res[0],res[1],res[0]+res[1],(res[0]+res[1])/one); fflush(stdout);
 }}
