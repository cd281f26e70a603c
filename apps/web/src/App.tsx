import { DeviceView } from './components/DeviceView';
import { FleetOverview } from './components/FleetOverview';
import { Header } from './components/Header';
import { useRoute } from './lib/route';
import type { SessionState } from './lib/session';

export function App({ session }: { session: SessionState }) {
  const route = useRoute();
  return (
    <div className="app">
      <Header route={route} session={session} />
      <main>
        {route.page === 'fleet' ? <FleetOverview /> : <DeviceView deviceId={route.deviceId} tab={route.tab} />}
      </main>
    </div>
  );
}
