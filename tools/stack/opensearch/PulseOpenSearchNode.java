import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node run from the Maven Central jars, without the distribution's launcher: the modules a
 * distribution unpacks under modules/ (HTTP and transport over Netty, the common analyzers, Painless) are
 * loaded as classpath plugins, settings come from config/opensearch.yml under path.home, and SIGTERM closes
 * the node. No security manager and no bootstrap checks: a local development server on 127.0.0.1 only.
 *
 * Usage: java -Dopensearch.path.home=HOME -Dopensearch.path.conf=HOME/config PulseOpenSearchNode
 */
public final class PulseOpenSearchNode {
  private static final List<Class<? extends Plugin>> MODULES = List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class);

  static final class LocalNode extends Node {
    LocalNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    Path home = Path.of(System.getProperty("opensearch.path.home"));
    Path conf = Path.of(System.getProperty("opensearch.path.conf", home.resolve("config").toString()));
    Settings initial = Settings.builder().put("path.home", home.toString()).build();
    Environment environment = InternalSettingsPreparer.prepareEnvironment(initial, Map.of(), conf, () -> "pulse-local");
    LogConfigurator.registerErrorListener();
    LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
    LogConfigurator.configure(environment);
    Node node = new LocalNode(environment, MODULES);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
        node.awaitClose(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        stopped.countDown();
      }
    }, "pulse-opensearch-shutdown"));
    node.start();
    stopped.await();
  }
}
