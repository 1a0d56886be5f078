import json,statistics,sys
adds=[];pl=[];parked=0
for l in open(sys.argv[1]):
    try: r=json.loads(l)
    except: continue
    if r.get('msg')=='CNI call' and r.get('cni')=='ADD': adds.append(r['ms'])
    if r.get('msg')=='plugged':
        if r.get('parked'): parked+=1
        else: pl.append((r.get('veth_ms',0),r.get('ovs_up_ms',0),r.get('probe_ms',0)))
def q(v,p):
    v=sorted(v); return v[min(len(v)-1,int(round(p*(len(v)-1))))]
if adds: print('CNI ADD daemon ms: n=%d p50=%s p99=%s min=%s max=%s'%(len(adds),statistics.median(adds),q(adds,.99),min(adds),max(adds)))
print('plugged parked=%d made=%d'%(parked,len(pl)))
if pl: print(' made: median veth %.1f ovs %.1f probe %.1f'%tuple(statistics.median(x[i] for x in pl) for i in range(3)))
