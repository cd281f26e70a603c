import { DeviceView } from './components/DeviceView';
import { FleetOverview } from './components/FleetOverview';
import { Header } from './components/Header';
import { useRoute } from './lib/route';

export function App() {
  const route = useRoute();
  return (
    <div className="app">
      <Header route={route} />
      <main>{route.page === 'fleet' ? <FleetOverview /> : <DeviceView deviceId={route.deviceId} tab={route.tab} />}</main>
    </div>
  );
}
