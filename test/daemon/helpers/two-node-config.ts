// The cluster.xml and userconfig of the two-node mirror module that daemon tests start:
// node1 and node2 on one LAN at 198.18.<subnet>.1/.2, a VIP at .50, the fast profile.
// Each test adds its own service-level elements (user variables, a split-brain checker).

export function twoNodeCluster(name: string, subnet: number): string {
  return `<cluster name="${name}" keyfile="KEYFILE">
  <lan name="lan0">
    <node name="node1" addr="198.18.${subnet}.1" port="9010"/>
    <node name="node2" addr="198.18.${subnet}.2" port="9010"/>
  </lan>
</cluster>`;
}

export function twoNodeMirrorUserconfig(vip: string, extra: string): string {
  return `<safe>
  <service mode="mirror" nodes="node1 node2" failover="on">
    <heart profile="fast"><heartbeat name="lan0"/></heart>
    <vip><interface_list><interface><real_interface>
      <virtual_addr addr="${vip}" where="one_side_alias"/>
    </real_interface></interface></interface_list></vip>
    ${extra}
  </service>
</safe>`;
}
